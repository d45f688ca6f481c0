import { afterEach, describe, expect, it } from 'vitest';
import { identityFromEngine } from '../../src/probe/engine-identity.js';
import { Scope } from '../../src/runtime/scope.js';
import { RUN_LABEL } from '../../src/runtime/runtime.js';
import { MemoryRuntime, type Script } from '../helpers/memory-runtime.js';

const passwd = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n';
const group = 'root:x:0:\napp:x:1000:\naudio:x:29:app\n';

let scope: Scope;
afterEach(async () => {
  expect(await scope.dispose()).toEqual([]);
});

function engineWith(files: Script['files']) {
  const mem = new MemoryRuntime();
  const id = mem.addImage(['app:1'], { User: 'app' });
  mem.script(id, () => ({ exitCode: 0, files }));
  scope = new Scope();
  return { mem, id };
}

describe('the image user, through the engine, before slim has read the image', () => {
  it('resolves the user in the passwd and group files of a container that is never started, then removes it', async () => {
    const { mem, id } = engineWith({ '/etc/passwd': passwd, '/etc/group': group });
    const identity = await identityFromEngine(mem, scope, id, 'app');
    expect(identity).toMatchObject({ uid: 1000, gid: 1000 });
    expect(identity?.groups).toEqual(expect.arrayContaining([1000, 29]));
    expect(mem.calls.filter((c) => c.op === 'run')).toEqual([]);
    expect(await mem.listByLabel(`${RUN_LABEL}=${scope.id}`)).toEqual({ containers: [], volumes: [] });
  });

  it('an image without the files: root, as the engine would run it', async () => {
    const { mem, id } = engineWith({});
    expect(await identityFromEngine(mem, scope, id, undefined)).toMatchObject({ uid: 0, gid: 0 });
  });

  it('a passwd that is a symlink is left to slim’s own reading of the image', async () => {
    const { mem, id } = engineWith({ '/etc/passwd': { type: 'symlink', linkname: '../usr/share/passwd' }, '/etc/group': group });
    expect(await identityFromEngine(mem, scope, id, 'app')).toBeUndefined();
    expect(await mem.listByLabel(`${RUN_LABEL}=${scope.id}`)).toEqual({ containers: [], volumes: [] });
  });
});
