import {
  DockerfileParser,
  Arg,
  Env,
  From,
  JSONInstruction,
  ModifiableInstruction,
  Run,
  Copy,
  type Heredoc,
  type Instruction as AstInstruction,
} from 'dockerfile-ast';

/** The parsed model the lint rules read: stages of instructions, 1-based lines, no parser types. */
export interface ParsedDockerfile {
  /** ARGs before the first FROM: usable in FROM lines, and recorded in the build history. */
  globalArgs: Instruction[];
  stages: Stage[];
}

export interface Stage {
  index: number;
  /** `FROM x AS name`, lower-cased as the builder compares it. */
  name: string | null;
  /** What findings call the stage: its name, or its 0-based index. */
  label: string;
  line: number;
  endLine: number;
  base: BaseImage;
  /** Instructions after FROM, in order. */
  instructions: Instruction[];
}

export interface BaseImage {
  /** As written, variables unexpanded. */
  raw: string;
  /** With ARG defaults substituted; null when a variable has no default (the caller's --build-arg decides). */
  resolved: string | null;
  /** The variable the reference came from, when it used one. */
  viaArg: string | null;
  /** The earlier stage it builds on, if it names one. */
  stage: number | null;
  scratch: boolean;
  tag: string | null;
  digest: string | null;
}

export interface Instruction {
  keyword: string;
  line: number;
  endLine: number;
  /** `--name=value` flags in order (RUN may repeat --mount); a flag without a value has value null. */
  flags: Flag[];
  /** Whitespace-split words of the shell-form command line, without flags and heredoc bodies. */
  words: string[];
  /** JSON (exec) form, when the arguments are a valid JSON array of strings. */
  exec: string[] | null;
  /** Shell-form command line as one logical line (continuations joined, comment lines dropped). */
  commandLine: string;
  heredocs: HeredocBody[];
  /** ARG/ENV declarations. */
  properties: Property[];
}

export interface Flag {
  name: string;
  value: string | null;
}

export interface HeredocBody {
  name: string;
  /** First line of the body (1-based); the start line when the body is empty. */
  line: number;
  body: string;
}

export interface Property {
  name: string;
  value: string | null;
  line: number;
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text.split(/\r?\n/);
  const ast = DockerfileParser.parse(text);
  const escape = ast.getEscapeCharacter();
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const node of ast.getInstructions()) {
    const instr = toInstruction(node, lines, escape);
    if (node instanceof From) {
      stages.push(toStage(node, stages, instr.line, instr.endLine));
    } else if (stages.length === 0) {
      // Before the first FROM only ARG is legal; anything else is kept out of the stages.
      if (instr.keyword === 'ARG') globalArgs.push(instr);
    } else {
      stages[stages.length - 1]!.instructions.push(instr);
    }
  }
  return { globalArgs, stages };
}

/** The stages that end up in the image: the last one and the stages it builds on via FROM. */
export function shippedStages(df: ParsedDockerfile): Stage[] {
  const out: Stage[] = [];
  let s: Stage | undefined = df.stages[df.stages.length - 1];
  while (s && !out.includes(s)) {
    out.unshift(s);
    s = s.base.stage === null ? undefined : df.stages[s.base.stage];
  }
  return out;
}

export function flagValue(instr: Instruction, name: string): string | null | undefined {
  return instr.flags.find((f) => f.name === name)?.value;
}

function toStage(node: From, earlier: Stage[], line: number, endLine: number): Stage {
  const index = earlier.length;
  const name = node.getBuildStage()?.toLowerCase() ?? null;
  return { index, name, label: name ?? String(index), line, endLine, base: baseImage(node, earlier), instructions: [] };
}

function baseImage(node: From, earlier: Stage[]): BaseImage {
  const raw = node.getImage() ?? '';
  // getExpandedArguments substitutes the global ARG defaults; a variable without one is left as written.
  const expanded = node.getExpandedArguments()[0]?.getValue() ?? raw;
  const resolved = expanded.includes('$') || expanded === '' ? null : expanded;
  const viaArg = /\$\{?([A-Za-z_][A-Za-z0-9_]*)/.exec(raw)?.[1] ?? null;
  const lower = resolved?.toLowerCase() ?? null;
  const stage = lower === null ? -1 : earlier.findIndex((s) => s.name === lower);
  const ref = resolved === null ? null : splitReference(resolved);
  return {
    raw,
    resolved,
    viaArg,
    stage: stage >= 0 ? stage : null,
    scratch: lower === 'scratch',
    tag: ref?.tag ?? null,
    digest: ref?.digest ?? null,
  };
}

/** `registry:5000/name:tag@sha256:…` → tag and digest; the port colon is before the last slash. */
function splitReference(ref: string): { tag: string | null; digest: string | null } {
  const at = ref.indexOf('@');
  const digest = at >= 0 ? ref.slice(at + 1) : null;
  const nameTag = at >= 0 ? ref.slice(0, at) : ref;
  const colon = nameTag.lastIndexOf(':');
  const tag = colon > nameTag.lastIndexOf('/') ? nameTag.slice(colon + 1) : null;
  return { tag, digest };
}

function toInstruction(node: AstInstruction, lines: string[], escape: string): Instruction {
  const range = node.getRange();
  const heredocNodes: Heredoc[] = node instanceof Run || node instanceof Copy ? node.getHeredocs() : [];
  const bodyLines = heredocLines(heredocNodes);
  // Arguments on heredoc body or delimiter lines are the body's text, not words of the command line.
  const words = node
    .getArguments()
    .filter((a) => !bodyLines.has(a.getRange().start.line))
    .map((a) => a.getValue());
  return {
    keyword: node.getKeyword().toUpperCase(),
    line: range.start.line + 1,
    endLine: range.end.line + 1,
    flags: node instanceof ModifiableInstruction ? node.getFlags().map((f) => ({ name: f.getName().toLowerCase(), value: f.getValue() })) : [],
    words,
    exec: node instanceof JSONInstruction ? execForm(node, lines, escape) : null,
    commandLine: words.join(' '),
    heredocs: heredocNodes.map((h) => heredocBody(h, lines)),
    properties: node instanceof Arg || node instanceof Env ? properties(node) : [],
  };
}

function heredocLines(heredocs: Heredoc[]): Set<number> {
  const set = new Set<number>();
  for (const h of heredocs) {
    const from = h.getContentRange()?.start.line ?? h.getDelimiterRange()?.start.line;
    const to = h.getDelimiterRange()?.start.line ?? h.getContentRange()?.end.line;
    if (from === undefined || to === undefined) continue;
    for (let l = from; l <= to; l++) set.add(l);
  }
  return set;
}

function heredocBody(h: Heredoc, lines: string[]): HeredocBody {
  const content = h.getContentRange();
  const body = content === null ? '' : lines.slice(content.start.line, content.end.line + 1).join('\n');
  return { name: h.getName(), line: (content?.start.line ?? h.getStartRange().start.line) + 1, body };
}

/**
 * dockerfile-ast's JSONArgument values drop the spaces inside strings ("apt-get install" comes back
 * as "apt-getinstall"), so the array is read with JSON.parse from the bracketed source text instead.
 * An array that does not parse is shell form, as the builder treats it.
 */
function execForm(node: JSONInstruction, lines: string[], escape: string): string[] | null {
  const open = node.getOpeningBracket()?.getRange().start;
  const close = node.getClosingBracket()?.getRange().end;
  if (!open || !close) return null;
  const slice: string[] = [];
  for (let l = open.line; l <= close.line; l++) {
    const text = lines[l] ?? '';
    slice.push(text.slice(l === open.line ? open.character : 0, l === close.line ? close.character : undefined));
  }
  const continuation = new RegExp(`${escape.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}\\s*$`);
  const joined = slice.map((s) => s.replace(continuation, '')).join(' ');
  try {
    const value: unknown = JSON.parse(joined);
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : null;
  } catch {
    return null;
  }
}

function properties(node: Arg | Env): Property[] {
  return node.getProperties().map((p) => ({ name: p.getName(), value: p.getValue(), line: p.getRange().start.line + 1 }));
}
