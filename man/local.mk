# Man pages (mdoc); linted by tests/test-man-lint.sh when mandoc is present.
man_MANS += \
	man/vimg.1 \
	man/vimg-info.1 \
	man/vimg-create.1 \
	man/vimg-resize.1 \
	man/vimg-measure.1 \
	man/vimg-rebase.1 \
	man/vimg-commit.1 \
	man/vimg-sparsify.1 \
	man/vimg-amend.1 \
	man/vimg-dd.1 \
	man/vimg-bench.1 \
	man/vimg-convert.1 \
	man/vimg-compare.1 \
	man/vimg-check.1 \
	man/vimg-map.1 \
	man/vimg-snapshot.1 \
	man/vimg-inspect.1 \
	man/vimg-memdump.1 \
	man/vimg-clone.1 \
	man/vimg-config.1 \
	man/vimg-nvram.1 \
	man/vimg-vmx.5 \
	man/vimgmount.1 \
	man/vimg-boot.1 \
	man/libvimg.3 \
	man/vimg-driver.7 \
	man/vimg-formats.7 \
	man/vimg-vm-mapping.7
EXTRA_DIST += $(man_MANS)
