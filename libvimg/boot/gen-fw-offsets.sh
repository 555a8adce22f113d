#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Turn `nm` output of the linked firmware into a header of symbol offsets
# (kvmtool's pattern): "#define FW_SYM_<name> 0x<offset>" for each global
# text symbol. Usage: gen-fw-offsets.sh NM fw.elf > fw-offsets.h
set -e
nm=$1
elf=$2
echo "/* Generated from $(basename "$elf") by gen-fw-offsets.sh: do not edit. */"
echo "#ifndef VIMG_BOOT_FW_OFFSETS_H"
echo "#define VIMG_BOOT_FW_OFFSETS_H"
"$nm" "$elf" | awk '$2 == "T" && $3 ~ /^[A-Za-z_][A-Za-z0-9_]*$/ {
	printf "#define FW_SYM_%s 0x%s\n", $3, $1 }' | sort
echo "#endif"
