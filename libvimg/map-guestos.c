/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest OS ids across hypervisors, one row per guest kind: the .vmx guestOS
 * id (the model's), the vSphere guest id that OVF's vmw:osType carries, the
 * OVF (CIM_OperatingSystem) id, the libosinfo id libvirt's metadata names
 * (Debian 12's osinfo-db predates Debian 12: it is "debian/testing" there),
 * and VirtualBox's OSType. Pairs of vSphere and OVF ids are those
 * VMware's own exports write (ovftool, vCenter); a guest without a precise
 * name somewhere gets that hypervisor's generic one for its family, and the
 * conversion says so. VMware's Ubuntu ids name no release, so libvirt gets the
 * generic Linux of their time rather than a guessed release.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "vmmap.h"

#define L64 false, true /* Linux/other, 64-bit */
#define L32 false, false
#define W64 true, true
#define W32 true, false

static const struct vmmap_guest_os guest_os[] = {
    /* vmx, vsphere, ovf, osinfo, vbox, windows, 64-bit, EFI by default */
    {"ubuntu-64", "ubuntu64Guest", 94, "http://libosinfo.org/linux/2020", "Ubuntu_64", L64, false},
    {"ubuntu", "ubuntuGuest", 93, "http://libosinfo.org/linux/2016", "Ubuntu", L32, false},
    {"debian12-64", "debian12_64Guest", 96, "http://debian.org/debian/testing", "Debian12_64", L64,
     false},
    {"debian11-64", "debian11_64Guest", 96, "http://debian.org/debian/11", "Debian11_64", L64,
     false},
    {"debian10-64", "debian10_64Guest", 96, "http://debian.org/debian/10", "Debian10_64", L64,
     false},
    {"debian10", "debian10Guest", 95, "http://debian.org/debian/10", "Debian10", L32, false},
    {"rhel9-64", "rhel9_64Guest", 80, "http://redhat.com/rhel/9.0", "RedHat9_64", L64, false},
    {"rhel8-64", "rhel8_64Guest", 80, "http://redhat.com/rhel/8.0", "RedHat8_64", L64, false},
    {"rhel7-64", "rhel7_64Guest", 80, "http://redhat.com/rhel/7.0", "RedHat7_64", L64, false},
    {"rhel7", "rhel7Guest", 79, "http://redhat.com/rhel/7.0", "RedHat", L32, false},
    {"rhel6-64", "rhel6_64Guest", 80, "http://redhat.com/rhel/6.10", "RedHat6_64", L64, false},
    {"rhel6", "rhel6Guest", 79, "http://redhat.com/rhel/6.10", "RedHat", L32, false},
    {"centos8-64", "centos8_64Guest", 107, "http://centos.org/centos/8", "RedHat8_64", L64, false},
    {"centos7-64", "centos7_64Guest", 107, "http://centos.org/centos/7.0", "RedHat7_64", L64,
     false},
    {"centos", "centosGuest", 36, "http://centos.org/centos/6.10", "RedHat", L32, false},
    {"sles15-64", "sles15_64Guest", 85, "http://suse.com/sle/15", "OpenSUSE_64", L64, false},
    {"fedora-64", "fedora64Guest", 100, "http://fedoraproject.org/fedora/unknown", "Fedora_64", L64,
     false},
    /* First of the Linux_64 rows: VirtualBox's generic Linux reads back as such. */
    {"otherlinux-64", "otherLinux64Guest", 101, "http://libosinfo.org/linux/2016", "Linux_64", L64,
     false},
    {"vmware-photon-64", "vmwarePhoton64Guest", 100, "http://libosinfo.org/linux/2020", "Linux_64",
     L64, false},
    {"other5xlinux-64", "other5xLinux64Guest", 100, "http://libosinfo.org/linux/2020", "Linux_64",
     L64, false},
    {"other4xlinux-64", "other4xLinux64Guest", 100, "http://libosinfo.org/linux/2016", "Linux_64",
     L64, false},
    {"other3xlinux-64", "other3xLinux64Guest", 100, "http://libosinfo.org/linux/2016", "Linux26_64",
     L64, false},
    {"other26xlinux-64", "other26xLinux64Guest", 100, "http://libosinfo.org/linux/2016",
     "Linux26_64", L64, false},
    {"otherlinux", "otherLinuxGuest", 36, "http://libosinfo.org/linux/2016", "Linux", L32, false},
    {"freebsd13-64", "freebsd13_64Guest", 78, "http://freebsd.org/freebsd/13.1", "FreeBSD_64", L64,
     false},
    {"windows11-64", "windows11_64Guest", 1, "http://microsoft.com/win/11", "Windows11_64", W64,
     true},
    {"windows9-64", "windows9_64Guest", 1, "http://microsoft.com/win/10", "Windows10_64", W64,
     false},
    {"windows2022srvnext-64", "windows2022srvNext_64Guest", 112, "http://microsoft.com/win/2k22",
     "Windows2022_64", W64, true},
    {"windows2019srvnext-64", "windows2019srvNext_64Guest", 112, "http://microsoft.com/win/2k22",
     "Windows2022_64", W64, true},
    {"windows2019srv-64", "windows2019srv_64Guest", 112, "http://microsoft.com/win/2k19",
     "Windows2019_64", W64, true},
    {"windows9srv-64", "windows9Server64Guest", 112, "http://microsoft.com/win/2k16",
     "Windows2016_64", W64, false},
    {"windows8srv-64", "windows8Server64Guest", 112, "http://microsoft.com/win/2k12r2",
     "Windows2012_64", W64, false},
    {"windows7srv-64", "windows7Server64Guest", 103, "http://microsoft.com/win/2k8r2",
     "Windows2008_64", W64, false},
    {"windows7-64", "windows7_64Guest", 74, "http://microsoft.com/win/7", "Windows7_64", W64,
     false},
    {"windows7", "windows7Guest", 73, "http://microsoft.com/win/7", "Windows7", W32, false},
    {"winnetenterprise-64", "winNetEnterprise64Guest", 70, "http://microsoft.com/win/2k3r2",
     "Windows2003_64", W64, false},
    {"winnetstandard", "winNetStandardGuest", 69, "http://microsoft.com/win/2k3", "Windows2003",
     W32, false},
    {"winxppro", "winXPProGuest", 67, "http://microsoft.com/win/xp", "WindowsXP", W32, false},
    {"other-64", "otherGuest64", 102, NULL, "Other_64", L64, false},
    {"other", "otherGuest", 1, NULL, "Other", L32, false},
};

#define N_GUEST_OS (sizeof(guest_os) / sizeof(guest_os[0]))

const struct vmmap_guest_os *vmmap_guest_os_by_vmx(const char *id)
{
	for (size_t i = 0; id && i < N_GUEST_OS; i++)
		if (!strcasecmp(guest_os[i].vmx, id))
			return &guest_os[i];
	return NULL;
}

const struct vmmap_guest_os *vmmap_guest_os_by_vsphere(const char *id)
{
	for (size_t i = 0; id && i < N_GUEST_OS; i++)
		if (!strcasecmp(guest_os[i].vsphere, id))
			return &guest_os[i];
	return NULL;
}

const struct vmmap_guest_os *vmmap_guest_os_by_osinfo(const char *id)
{
	for (size_t i = 0; id && i < N_GUEST_OS; i++)
		if (guest_os[i].osinfo && !strcmp(guest_os[i].osinfo, id))
			return &guest_os[i];
	return NULL;
}

const struct vmmap_guest_os *vmmap_guest_os_by_vbox(const char *id)
{
	for (size_t i = 0; id && i < N_GUEST_OS; i++)
		if (!strcasecmp(guest_os[i].vbox, id))
			return &guest_os[i];
	return NULL;
}

const struct vmmap_guest_os *vmmap_guest_os_by_ovf(unsigned id)
{
	for (size_t i = 0; i < N_GUEST_OS; i++)
		if (guest_os[i].ovf_id == id)
			return &guest_os[i];
	return NULL;
}
