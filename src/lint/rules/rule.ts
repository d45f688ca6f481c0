import type { ParsedDockerfile } from '../dockerfile.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  rule: string;
  severity: Severity;
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
}

/** One occurrence; the rule supplies id, and severity and fix unless the hit overrides them. */
export interface Hit {
  line: number;
  stage: string | null;
  message: string;
  severity?: Severity;
  fix?: string;
}

export interface Rule {
  id: string;
  severity: Severity;
  description: string;
  fix: string;
  check(df: ParsedDockerfile, ctx: LintContext): Hit[];
}
