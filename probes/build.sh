#!/bin/sh
# Build the probe's files into OUT/.slim-probe: the static sensor, and strace with every library
# it links and glibc's loader. Run by the Dockerfile, and on the host by `--runtime oci`, which has
# no engine to build with (the host then needs gcc, libc6-dev and strace).
set -eu
here=$(dirname "$0")
out=$1/.slim-probe
mkdir -p "$out/lib"
# Static, so it runs in any image: glibc, musl, or none at all.
gcc -static -O2 -s -std=c11 -Wall -Wextra -o "$out/slim-sensor" "$here/fanotify/sensor.c"
# strace runs as `lib/ld-linux-x86-64.so.2 --library-path lib strace ...` whatever libc the image has.
cp /usr/bin/strace "$out/strace"
for lib in $(ldd /usr/bin/strace | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    cp -L "$lib" "$out/lib/"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$out/lib/ld-linux-x86-64.so.2"
"$out/lib/ld-linux-x86-64.so.2" --library-path "$out/lib" --inhibit-cache "$out/strace" -V | head -n 1
