# The vimg command: one file per subcommand, sharing cli.h helpers.
bin_PROGRAMS += cli/vimg
noinst_HEADERS += cli/cli.h
cli_vimg_SOURCES = \
	cli/vimg.c \
	cli/opts.c \
	cli/secret.c \
	cli/output.c \
	cli/progress.c \
	cli/cmd-info.c \
	cli/cmd-create.c \
	cli/cmd-resize.c \
	cli/cmd-measure.c \
	cli/cmd-rebase.c \
	cli/cmd-commit.c \
	cli/cmd-sparsify.c \
	cli/cmd-amend.c \
	cli/cmd-dd.c \
	cli/cmd-bench.c \
	cli/cmd-convert.c \
	cli/cmd-convert-vm.c \
	cli/cmd-compare.c \
	cli/cmd-check.c \
	cli/cmd-map.c \
	cli/cmd-snapshot.c \
	cli/cmd-snapshot-vm.c \
	cli/cmd-clone.c \
	cli/cmd-inspect.c \
	cli/cmd-config.c \
	cli/cmd-nvram.c \
	cli/cmd-memdump.c \
	cli/cmd-formats.c \
	cli/cmd-boot.c
cli_vimg_LDADD = libvimg/libvimg.la $(PTHREAD_LIBS)
