# vmdk tests.
