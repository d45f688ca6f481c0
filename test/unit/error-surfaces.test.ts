import { describe, expect, it } from 'vitest';
import { InterruptedError, SlimError } from '../../src/errors.js';
import { wrap } from '../../src/runtime/docker-requests.js';
import { registryJson } from '../../src/registry/request.js';
import { artifactLayers, referrersOf } from '../../src/registry/artifact.js';

describe('errors keep their meaning on the way out', () => {
  it("an engine call's timeout and Ctrl-C stay what they are; the engine's own errors say what slim was doing", () => {
    const timeout = new SlimError('the engine did not answer', { code: 'ENGINE_TIMEOUT' });
    expect(wrap('saving image x', timeout)).toBe(timeout);
    const interrupted = new InterruptedError('SIGINT');
    expect(wrap('inspecting image x', interrupted)).toBe(interrupted);
    const refused = wrap('tagging a as b:c', Object.assign(new Error('(HTTP code 404) no such image - No such image: a'), { statusCode: 404 }));
    expect(refused).toBeInstanceOf(SlimError);
    expect(refused).toMatchObject({ code: 'ENGINE', message: 'tagging a as b:c: No such image: a' });
  });

  it('a registry document that is not JSON is a registry failure naming the document, not an internal error', () => {
    expect(() => registryJson('{"token": ', 'the token from auth.example')).toThrow(SlimError);
    expect(() => registryJson('<html>', 'manifest v1 from r/x')).toThrow(/^manifest v1 from r\/x is not JSON: /);
    expect(() => referrersOf(Buffer.from('nope'))).toThrow(expect.objectContaining({ code: 'REGISTRY_FAILED' }));
    expect(() => referrersOf(Buffer.from('{"manifests": 3}'))).toThrow('the referrers index has no manifests list');
    expect(() => artifactLayers(Buffer.from('[oops'))).toThrow(/^the artifact manifest is not JSON/);
    expect(registryJson<{ a: number }>(Buffer.from('{"a":1}'), 'x')).toEqual({ a: 1 });
  });
});
