import { describe, expect, it } from 'vitest';
import { resolveUser } from '../../src/closure/users.js';
import { parseShebang } from '../../src/closure/shebang.js';

const passwd = ['root:x:0:0:root:/root:/bin/bash', 'svc:x:1001:1001::/var/lib/svc:/usr/sbin/nologin', 'app:x:1000:1000:App:/home/app:/bin/sh', '# comment', 'broken'].join('\n');
const group = ['root:x:0:', 'svc:x:1001:', 'app:x:1000:', 'audio:x:29:app,svc', 'video:x:44:app'].join('\n');

describe('resolveUser (Docker USER semantics over the image files)', () => {
  it.each([
    [undefined, { uid: 0, gid: 0, home: '/root' }],
    ['svc', { uid: 1001, gid: 1001, home: '/var/lib/svc', groups: [29, 1001] }],
    ['1000', { uid: 1000, gid: 1000, home: '/home/app', groups: [29, 44, 1000] }],
    ['app:audio', { uid: 1000, gid: 29, groups: [29] }],
    ['1000:5', { uid: 1000, gid: 5, groups: [5] }],
    ['4242', { uid: 4242, gid: 0, home: '/', groups: [0] }],
  ])('%s', (spec, want) => {
    expect(resolveUser(spec, passwd, group)).toMatchObject(want);
  });

  it('a user name the image does not know is an error naming it', () => {
    expect(() => resolveUser('ghost', passwd, group)).toThrow(/unable to find user ghost/);
    expect(() => resolveUser('app:ghosts', passwd, group)).toThrow(/unable to find group ghosts/);
  });

  it('an image without /etc/passwd runs numeric users only', () => {
    expect(resolveUser('65534:65534', undefined, undefined)).toMatchObject({ uid: 65534, gid: 65534 });
    expect(() => resolveUser('nobody', undefined, undefined)).toThrow(/unable to find user nobody/);
  });
});

describe('parseShebang', () => {
  it.each([
    ['#!/bin/sh\necho', { interpreter: '/bin/sh' }],
    ['#! /usr/bin/env python3\n', { interpreter: '/usr/bin/env', arg: 'python3' }],
    ['#!/bin/bash -eu\n', { interpreter: '/bin/bash', arg: '-eu' }],
    ['#!/usr/bin/python3', { interpreter: '/usr/bin/python3' }],
  ])('%j', (text, want) => {
    expect(parseShebang(Buffer.from(text))).toEqual(want);
  });

  it.each([['#!relative/sh\n'], ['echo hi\n'], ['#!\n']])('rejects %j', (text) => {
    expect(parseShebang(Buffer.from(text))).toBeUndefined();
  });
});
