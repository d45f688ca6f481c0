import type { ParsedDockerfile } from '../dockerfile.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  rule: string;
  /** The hadolint rule this finding also is, when one means the same; null when none does. */
  hadolint: string | null;
  severity: Severity;
  /** The Dockerfile the finding comes from, as it was named ('-' for stdin). */
  dockerfile: string;
  /** Where it is: the Dockerfile; for the build context, the ignore file read, or '(build context)' when there is none. */
  file: string;
  /** 1-based; 0 when the finding is about the build context rather than a line. */
  line: number;
  /** The stage's name or index; null for global ARGs and the build context. */
  stage: string | null;
  message: string;
  fix: string;
}

/** What the rules know beyond the Dockerfile text. */
export interface LintContext {
  /** The context's .dockerignore: its text, null when there is none, undefined when not looked at. */
  dockerignore?: string | null;
  /** The context directory, for messages about it. */
  dir?: string;
  /** Registries FROM may pull from; undefined when no policy is set. */
  trustedRegistries?: readonly string[];
}

/** One occurrence; the rule supplies id, and severity and fix unless the hit overrides them. */
export interface Hit {
  line: number;
  stage: string | null;
  message: string;
  severity?: Severity;
  fix?: string;
  /** Which of the rule's hadolint ids this hit is (null: none); left out when the rule has exactly one. */
  hadolint?: string | null;
}

export interface Rule {
  id: string;
  /** A short kebab-case name, for formats that show one (SARIF). */
  name: string;
  severity: Severity;
  description: string;
  fix: string;
  /** hadolint rules with the same meaning; a rule with several says in each hit which one it is. */
  hadolint?: readonly string[];
  check(df: ParsedDockerfile, ctx: LintContext): Hit[];
}
