#!/usr/bin/env bash
# Build the Debian 12 guest of the VM scenario (extensions/molecule/vm), once: the result is
# cached in $MYDOCKER_VM_CACHE (default /var/cache/mydocker-vm)/<key>/, where <key> is a hash of
# this script (every build input is in it), and a rerun with the same inputs only prints the path.
#
#   bash scripts/vm/build-image.sh          # prints the image directory on stdout (logs on stderr)
#
# The directory holds:
#   rootfs.raw   sparse 4 GiB ext4 image (debootstrap minbase + the packages below), the base of
#                every VM's qcow2 overlay (qemu opens it read-only)
#   vmlinuz      Debian's linux-image-6.1 kernel; its modules are inside rootfs.raw
#   initrd.img   a tiny busybox initramfs: loads virtio_pci/virtio_blk/ext4, switch_root to /dev/vda
#   id_ed25519   root's SSH key for this image (the public half is in /root/.ssh/authorized_keys)
#   cmdline      the kernel command line (pure cgroup v2)
#   info         what was built from what
#
# Needs root and the Debian mirror apt already uses; installs debootstrap, qemu-system-x86 and
# qemu-utils when missing. The guest has no network: everything the roles and the engine need at
# run time is installed here.
set -euo pipefail

CACHE_ROOT="${MYDOCKER_VM_CACHE:-/var/cache/mydocker-vm}"
SUITE=bookworm
IMAGE_SIZE=4G
# The guest's packages. The first line is the base system; the second is what
# roles/mydocker_host checks for (all present, so it never calls apt) and the engine runs.
PACKAGES=(systemd-sysv openssh-server python3 iproute2 iptables busybox-static ca-certificates udev kmod dbus procps
          python3-pyroute2 util-linux)
# Modules the initramfs loads (with their dependencies) before mounting /dev/vda.
INITRD_MODULES=(virtio_pci virtio_blk crc32c_generic ext4)
# Kernel module directories nobody needs in a test VM (they only slow mkfs down).
PRUNE_MODULES=(sound drivers/gpu drivers/media drivers/net/wireless drivers/infiniband drivers/staging
               drivers/bluetooth drivers/iio drivers/isdn drivers/usb/gadget net/bluetooth net/wireless
               net/mac80211)
# Units that only burn emulated CPU.
MASK_UNITS=(apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer
            dpkg-db-backup.timer systemd-tmpfiles-clean.timer systemd-networkd-wait-online.service
            getty@tty1.service systemd-timesyncd.service man-db.timer logrotate.timer)
# The private segment between the VMs: the n-th VM's NIC with MAC 52:54:00:77:00:0n gets
# 192.168.77.n/24 (written for n = 1..8).
SEGMENT_MAX=8

log() { printf '[build-image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mkfs)"

KEY="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
OUT="$CACHE_ROOT/$KEY"
if [ -f "$OUT/ready" ]; then
    log "cached: $OUT"
    echo "$OUT"
    exit 0
fi

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
if [ "${#need[@]}" -gt 0 ]; then
    log "installing ${need[*]}"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.lock"
flock 9                                  # one build at a time; a waiting run finds it cached
if [ -f "$OUT/ready" ]; then
    echo "$OUT"
    exit 0
fi

# The mirror apt here already uses for $SUITE (works with sources.list and deb822 .sources).
MIRROR="$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' 2>/dev/null \
          | awk -v s="$SUITE" '$2 == s {print $1; exit}')"
[ -n "$MIRROR" ] || die "no apt source for $SUITE found (apt-get indextargets)"

WORK="$(mktemp -d "$CACHE_ROOT/.build-XXXXXX")"
cleanup() {
    local rc=$?
    for m in dev/pts dev proc sys; do
        mountpoint -q "$WORK/root/$m" 2>/dev/null && umount -l "$WORK/root/$m"
    done
    rm -rf "$WORK"
    [ "$rc" = 0 ] || log "failed (exit $rc); nothing cached"
}
trap cleanup EXIT
ROOT="$WORK/root"
STAGE="$WORK/out"
mkdir -p "$ROOT" "$STAGE"

SECONDS=0
log "debootstrap $SUITE from $MIRROR"
include="$(IFS=,; echo "${PACKAGES[*]}")"
debootstrap --variant=minbase --include="$include" "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -30 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
log "debootstrap done (${SECONDS}s)"

# --- the kernel: Debian's package, unpacked; its modules go into the rootfs ---------------------
KPKG="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
if [ -z "$KPKG" ]; then
    apt-get update -q >&2
    KPKG="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
fi
[ -n "$KPKG" ] || die "cannot resolve linux-image-amd64"
log "kernel package $KPKG"
(cd "$WORK" && apt-get download -q -o APT::Sandbox::User=root "$KPKG" >&2)
dpkg-deb -x "$WORK"/"$KPKG"_*.deb "$WORK/kernel"
KVER="$(ls "$WORK/kernel/lib/modules")"
cp "$WORK/kernel/boot/vmlinuz-$KVER" "$STAGE/vmlinuz"
for d in "${PRUNE_MODULES[@]}"; do rm -rf "$WORK/kernel/lib/modules/$KVER/kernel/$d"; done
mkdir -p "$ROOT/usr/lib/modules"
cp -a "$WORK/kernel/lib/modules/$KVER" "$ROOT/usr/lib/modules/"
chroot "$ROOT" depmod -a "$KVER"

# --- the initramfs: busybox + the block/fs modules, then switch_root -----------------------------
INITRD="$WORK/initrd"
mkdir -p "$INITRD/bin" "$INITRD/lib/modules" "$INITRD/dev" "$INITRD/proc" "$INITRD/sys" "$INITRD/newroot"
cp "$ROOT/bin/busybox" "$INITRD/bin/busybox"
: >"$INITRD/lib/modules/order"
chroot "$ROOT" modprobe -S "$KVER" --all --show-depends "${INITRD_MODULES[@]}" | while read -r kind path _; do
    [ "$kind" = insmod ] || continue
    name="$(basename "$path")"
    grep -qx "$name" "$INITRD/lib/modules/order" && continue
    cp "$ROOT$path" "$INITRD/lib/modules/$name"
    echo "$name" >>"$INITRD/lib/modules/order"
done
cat >"$INITRD/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/order); do insmod "/lib/modules/$m" 2>/dev/null; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 -o rw /dev/vda /newroot; then
    echo "initramfs: cannot mount /dev/vda"; ls /dev; sleep 5; poweroff -f
fi
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
EOF
chmod 0755 "$INITRD/init"
(cd "$INITRD" && find . | "$ROOT/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1 >"$STAGE/initrd.img")
log "initramfs: $(tr '\n' ' ' <"$INITRD/lib/modules/order")"

# --- the guest's configuration ---------------------------------------------------------------
echo mydocker-vm >"$ROOT/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
# The initramfs mounts / read-write already: no fstab entry, so systemd waits for no dev-vda.device.
echo '# / is mounted rw by the initramfs' >"$ROOT/etc/fstab"
echo "deb $MIRROR $SUITE main" >"$ROOT/etc/apt/sources.list"
: >"$ROOT/etc/resolv.conf"
rm -f "$ROOT/etc/machine-id" "$ROOT/var/lib/dbus/machine-id"
: >"$ROOT/etc/machine-id"                # a fresh one per boot (the overlay is new every run)

# systemd-networkd: the user netdev NIC (static, qemu's slirp addresses) and the segment NIC.
mkdir -p "$ROOT/etc/systemd/network"
cat >"$ROOT/etc/systemd/network/10-user.network" <<'EOF'
# qemu user netdev (restrict=on): SSH comes in through a hostfwd; no way out.
[Match]
MACAddress=52:54:00:12:34:01 52:54:00:12:34:02 52:54:00:12:34:03 52:54:00:12:34:04 52:54:00:12:34:05 52:54:00:12:34:06 52:54:00:12:34:07 52:54:00:12:34:08

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
for n in $(seq 1 "$SEGMENT_MAX"); do
    cat >"$ROOT/etc/systemd/network/20-segment-$n.network" <<EOF
# The private segment shared by the VMs (qemu socket netdev over loopback): VM $n.
[Match]
MACAddress=52:54:00:77:00:0$n

[Network]
Address=192.168.77.$n/24
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
done

# sshd: root by key only, no DNS lookups, enough concurrent sessions for Ansible's forks.
mkdir -p "$ROOT/etc/ssh/sshd_config.d"
cat >"$ROOT/etc/ssh/sshd_config.d/mydocker-vm.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
GSSAPIAuthentication no
MaxStartups 50
MaxSessions 50
EOF
ssh-keygen -q -t ed25519 -N '' -C "mydocker-vm-$KEY" -f "$STAGE/id_ed25519"
install -d -m 0700 "$ROOT/root/.ssh"
install -m 0600 "$STAGE/id_ed25519.pub" "$ROOT/root/.ssh/authorized_keys"

# journald in memory, no swap of emulated disk I/O for logs.
mkdir -p "$ROOT/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n' >"$ROOT/etc/systemd/journald.conf.d/mydocker-vm.conf"

# A safety net for a test run killed with SIGKILL (its trap cannot stop the VMs): the guest powers
# itself off after mydocker.lifetime= seconds from the kernel command line (vm.py sets it).
cat >"$ROOT/usr/local/sbin/mydocker-vm-lifetime" <<'EOF2'
#!/bin/sh
for arg in $(cat /proc/cmdline); do
    case "$arg" in mydocker.lifetime=*) sleep "${arg#*=}" && exec systemctl poweroff --force --force ;; esac
done
EOF2
chmod 0755 "$ROOT/usr/local/sbin/mydocker-vm-lifetime"
cat >"$ROOT/etc/systemd/system/mydocker-vm-lifetime.service" <<'EOF2'
[Unit]
Description=Power off after mydocker.lifetime= seconds (a VM left behind by a killed test run)
ConditionKernelCommandLine=mydocker.lifetime

[Service]
ExecStart=/usr/local/sbin/mydocker-vm-lifetime

[Install]
WantedBy=multi-user.target
EOF2

# Container processes live outside any unit (the engine's own cgroups); a container's PID 1 ignores
# SIGTERM from outside its namespace, so systemd-shutdown's final SIGTERM would wait 90 s for it.
mkdir -p "$ROOT/etc/systemd/system.conf.d"
printf '[Manager]\nDefaultTimeoutStopSec=10s\n' >"$ROOT/etc/systemd/system.conf.d/mydocker-vm.conf"

chroot "$ROOT" systemctl enable systemd-networkd.service ssh.service mydocker-vm-lifetime.service >/dev/null 2>&1
chroot "$ROOT" systemctl mask "${MASK_UNITS[@]}" >/dev/null 2>&1
chroot "$ROOT" passwd -l root >/dev/null
chroot "$ROOT" apt-get clean
rm -rf "$ROOT/var/lib/apt/lists/"* "$ROOT/var/cache/debconf/"*-old "$ROOT/usr/share/doc/"* "$ROOT/usr/share/man/"* \
       "$ROOT/usr/share/locale/"*

CMDLINE="root=/dev/vda rw console=ttyS0 panic=-1 quiet loglevel=4 fsck.mode=skip systemd.unified_cgroup_hierarchy=1"
echo "$CMDLINE" >"$STAGE/cmdline"

log "mkfs.ext4 -d ($IMAGE_SIZE sparse)"
truncate -s "$IMAGE_SIZE" "$STAGE/rootfs.raw"
mkfs.ext4 -q -F -L mydocker-root -d "$ROOT" "$STAGE/rootfs.raw"

{
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in ${SECONDS}s"
    echo "suite: $SUITE from $MIRROR"
    echo "kernel: $KPKG ($KVER)"
    echo "packages: ${PACKAGES[*]}"
    echo "pyroute2: $(chroot "$ROOT" dpkg-query -W -f '${Version}' python3-pyroute2)"
    echo "python3: $(chroot "$ROOT" dpkg-query -W -f '${Version}' python3)"
    echo "iptables: $(chroot "$ROOT" dpkg-query -W -f '${Version}' iptables)"
    echo "cmdline: $CMDLINE"
} >"$STAGE/info"

# Publish atomically, then drop images built from older versions of this script.
rm -rf "$OUT"
mv "$STAGE" "$OUT"
touch "$OUT/ready"
for old in "$CACHE_ROOT"/*/; do
    [ "${old%/}" = "$OUT" ] || rm -rf "${old%/}"
done
log "built $OUT in ${SECONDS}s"
echo "$OUT"
