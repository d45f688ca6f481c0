import { describe, expect, it } from 'vitest';
import { parseDpkgStatus } from '../../src/packages/dpkg.js';
import { cycloneDx, packagesKept, purlOf } from '../../src/sbom/cyclonedx.js';
import { mkLayer, readLayers } from '../helpers/layers.js';
import { cycloneDxErrors } from '../helpers/cyclonedx.js';

const STATUS = `Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u4

Package: gone
Status: deinstall ok config-files
Version: 1.0

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1
`;

describe('package URLs', () => {
  it('package URLs escape what the purl spec says to', () => {
    expect(purlOf({ manager: 'dpkg', name: 'zlib1g', version: '1:1.2.13.dfsg-1', arch: 'amd64' }, { id: 'debian', versionId: '12' })).toBe('pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12');
    expect(purlOf({ manager: 'apk', name: 'musl', version: '1.2.4-r2', arch: 'x86_64' }, { id: 'alpine', versionId: '3.19.1' })).toBe('pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1');
  });
});

describe('CycloneDX of what remains', () => {
  it('counts kept files through merged /usr, skips directory symlinks, leaves out packages with nothing kept', async () => {
    const { index, cleanup } = await readLayers([
      await mkLayer([
        { path: 'usr' }, { path: 'usr/lib' }, { path: 'usr/bin' },
        { path: 'lib', type: 'symlink', linkname: 'usr/lib' },
        { path: 'bin', type: 'symlink', linkname: 'usr/bin' },
        { path: 'usr/lib/libc.so.6', body: 'x'.repeat(100) },
        { path: 'usr/lib/libm.so.6', body: 'y'.repeat(50) },
        { path: 'usr/bin/ldd', body: '#!/bin/sh\n' },
        { path: 'usr/share' }, { path: 'usr/share/zoneinfo' }, { path: 'usr/share/zoneinfo/UTC', body: 'TZif' },
      ]),
    ]);
    try {
      const installed = parseDpkgStatus(STATUS);
      const files = new Map([
        ['libc6', ['/lib', '/lib/libc.so.6', '/lib/libm.so.6', '/usr/bin/ldd', '/usr/lib/libc.so.6']],
        ['tzdata', ['/usr/share/zoneinfo', '/usr/share/zoneinfo/UTC']],
      ]);
      const kept = (p: string) => p === '/usr/lib/libc.so.6';
      expect(packagesKept({ index, kept, installed, files })).toEqual([{ name: 'libc6', version: '2.36-9+deb12u4', files: 3, filesKept: 1, bytes: 160, bytesKept: 100 }]);
      const bom = cycloneDx({ index, kept, installed, files, os: { id: 'debian', versionId: '12' }, image: { name: 'app:1-slim', digest: `sha256:${'c'.repeat(64)}` }, tool: { name: 'slim', version: '0.1.0' }, timestamp: '2026-01-01T00:00:00.000Z' });
      expect(bom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.5', version: 1, metadata: { component: { type: 'container', name: 'app:1-slim' } } });
      expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(bom.components).toEqual([{
        type: 'library', 'bom-ref': 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12', name: 'libc6', version: '2.36-9+deb12u4', purl: 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12',
        properties: [{ name: 'slim:files', value: '3' }, { name: 'slim:files-kept', value: '1' }, { name: 'slim:fraction-kept', value: '0.333' }, { name: 'slim:bytes-kept', value: '100' }],
      }]);
      expect(await cycloneDxErrors(bom)).toBeNull();
      // The validator is not lenient: a component type the schema lacks is refused.
      expect(await cycloneDxErrors({ ...bom, components: [{ ...(bom.components as object[])[0], type: 'package' }] })).not.toBeNull();
    } finally {
      await cleanup();
    }
  });
});
