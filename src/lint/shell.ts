import type { Instruction } from './dockerfile.js';

/**
 * Just enough of POSIX shell to see which commands a RUN runs: words with quotes and escapes,
 * command separators, redirections and `sh -c` scripts. Not an interpreter: no expansion, and
 * compound commands are flattened to their simple commands.
 */
export type Argv = string[];

/** A RUN's commands, from its command line, its exec form, or a heredoc that is its script. */
export interface RunCommands {
  /** Commands of the command line or exec form. */
  line: Argv[];
  /** Commands of heredoc bodies that the shell runs (not heredocs fed to another program). */
  heredoc: Argv[];
}

const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh', 'busybox']);
const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'case', 'esac', '!', 'time', '{', '}', 'exec']);
const MAX_DEPTH = 4;

export function runCommands(instr: Instruction): RunCommands {
  const line = instr.exec !== null ? expandShells([instr.exec], 0) : parseShell(instr.commandLine);
  const heredocIsScript = line.length === 0 || (line.length === 1 && isBareShell(line[0]!));
  const heredoc = heredocIsScript ? instr.heredocs.flatMap((h) => (isShellScript(h.body) ? parseShell(h.body) : [])) : [];
  return { line: heredocIsScript ? [] : line, heredoc };
}

export function allCommands(instr: Instruction): Argv[] {
  const { line, heredoc } = runCommands(instr);
  return [...line, ...heredoc];
}

/** Drops `sudo` and `env`, which run the real command with other privileges or environment. */
export function unwrap(argv: Argv): Argv {
  let rest = argv;
  for (;;) {
    const head = rest[0];
    if (head === 'sudo' || head === 'env') {
      let i = 1;
      while (i < rest.length && (rest[i]!.startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[i]!))) i++;
      rest = rest.slice(i);
    } else return rest;
  }
}

export function parseShell(script: string, depth = 0): Argv[] {
  return expandShells(tokenize(script), depth);
}

function expandShells(commands: Argv[], depth: number): Argv[] {
  return commands.flatMap((argv) => {
    const script = shellScriptArg(argv);
    return script !== null && depth < MAX_DEPTH ? parseShell(script, depth + 1) : [argv];
  });
}

/** `sh -c 'script'`, `bash -euxc "script"` → the script. */
function shellScriptArg(argv: Argv): string | null {
  const cmd = unwrap(argv);
  if (!SHELLS.has(basename(cmd[0] ?? ''))) return null;
  const c = cmd.findIndex((w, i) => i > 0 && /^-[a-z]*c[a-z]*$/.test(w));
  return c > 0 ? (cmd[c + 1] ?? null) : null;
}

function isBareShell(argv: Argv): boolean {
  return SHELLS.has(basename(argv[0] ?? '')) && argv.slice(1).every((w) => w.startsWith('-'));
}

function isShellScript(body: string): boolean {
  const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(body);
  if (!shebang) return true;
  const interpreter = basename(shebang[1] === '/usr/bin/env' ? (shebang[2] ?? '') : shebang[1]!);
  return SHELLS.has(interpreter);
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Splits a script into simple commands; leading assignments and shell keywords are dropped. */
export function tokenize(script: string): Argv[] {
  const commands: Argv[] = [];
  let argv: Argv = [];
  let word: string | null = null;
  let skipNext = false;
  const endWord = () => {
    if (word === null) return;
    if (skipNext) skipNext = false;
    else argv.push(word);
    word = null;
  };
  const endCommand = () => {
    endWord();
    const cleaned = dropPrefixes(argv);
    if (cleaned.length > 0) commands.push(cleaned);
    argv = [];
  };
  let i = 0;
  while (i < script.length) {
    const ch = script[i]!;
    const next = script[i + 1];
    if (ch === '\\') {
      if (next === '\n') i += 2;
      else {
        word = (word ?? '') + (next ?? '');
        i += 2;
      }
    } else if (ch === "'") {
      const end = script.indexOf("'", i + 1);
      const stop = end < 0 ? script.length : end;
      word = (word ?? '') + script.slice(i + 1, stop);
      i = stop + 1;
    } else if (ch === '"') {
      const [text, stop] = doubleQuoted(script, i + 1);
      word = (word ?? '') + text;
      i = stop + 1;
    } else if (ch === '$' && next === '(') {
      const stop = matchingParen(script, i + 1);
      word = (word ?? '') + script.slice(i, stop + 1);
      i = stop + 1;
    } else if (ch === '#' && word === null) {
      while (i < script.length && script[i] !== '\n') i++;
    } else if (ch === '\n' || ch === ';' || ch === '&' || ch === '|' || ch === '(' || ch === ')') {
      if (ch === '&' && next === '>') {
        endWord();
        i += script[i + 2] === '>' ? 3 : 2;
        skipNext = true;
        continue;
      }
      endCommand();
      i += (ch === '&' || ch === '|' || ch === ';') && next === ch ? 2 : 1;
    } else if (ch === '>' || ch === '<') {
      // Redirections: `2>`, `>>`, `<<EOF`, `>&2`; the operand is a file or a delimiter, not an argument.
      if (word !== null && /^\d+$/.test(word)) word = null;
      else endWord();
      let j = i + 1;
      while (script[j] === '>' || script[j] === '<' || script[j] === '-' || script[j] === '&') j++;
      const duplicate = script[j - 1] === '&' && /\d/.test(script[j] ?? '');
      if (duplicate) while (/\d/.test(script[j] ?? '')) j++;
      else skipNext = true;
      i = j;
    } else if (ch === ' ' || ch === '\t' || ch === '\r') {
      endWord();
      i++;
    } else {
      word = (word ?? '') + ch;
      i++;
    }
  }
  endCommand();
  return commands;
}

function doubleQuoted(script: string, start: number): [string, number] {
  let text = '';
  let i = start;
  while (i < script.length && script[i] !== '"') {
    if (script[i] === '\\' && i + 1 < script.length && '$`"\\\n'.includes(script[i + 1]!)) {
      if (script[i + 1] !== '\n') text += script[i + 1];
      i += 2;
    } else {
      text += script[i];
      i++;
    }
  }
  return [text, i];
}

function matchingParen(script: string, open: number): number {
  let depth = 0;
  for (let i = open; i < script.length; i++) {
    if (script[i] === '(') depth++;
    else if (script[i] === ')' && --depth === 0) return i;
  }
  return script.length;
}

function dropPrefixes(argv: Argv): Argv {
  let i = 0;
  while (i < argv.length && (KEYWORDS.has(argv[i]!) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[i]!))) i++;
  return argv.slice(i);
}
