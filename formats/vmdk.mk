# vmdk driver (formats/vmdk*.c): sources are added here.
