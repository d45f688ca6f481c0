import type { ImagePath } from '../rootfs/entry.js';

export type ReasonKind =
  | 'traced'
  | 'symlink'
  | 'symlink-to-kept'
  | 'listed'
  | 'parent'
  | 'created-in'
  | 'elf-interp'
  | 'elf-needed'
  | 'shebang'
  | 'pyc-source'
  | 'python-landmark'
  | 'entrypoint'
  | 'user'
  | 'include'
  | 'keep'
  | 'package'
  | 'repair';

/** Why a path is in the slim image; `from` names the path that pulled it in. */
export interface Reason {
  why: ReasonKind;
  from?: ImagePath;
}

/** The paths to keep, each with every reason found for it. */
export class Selection {
  private readonly reasons = new Map<ImagePath, Reason[]>();

  /** Returns true when the path is new to the selection. */
  add(path: ImagePath, reason: Reason): boolean {
    const list = this.reasons.get(path);
    if (list) {
      if (list.length < 4 && !list.some((r) => r.why === reason.why)) list.push(reason);
      return false;
    }
    this.reasons.set(path, [reason]);
    return true;
  }

  delete(path: ImagePath): void {
    this.reasons.delete(path);
  }

  has(path: ImagePath): boolean {
    return this.reasons.has(path);
  }

  why(path: ImagePath): readonly Reason[] {
    return this.reasons.get(path) ?? [];
  }

  paths(): ImagePath[] {
    return [...this.reasons.keys()];
  }

  get size(): number {
    return this.reasons.size;
  }

  /** How many paths each kind of reason brought in first. */
  countByFirstReason(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const list of this.reasons.values()) {
      const k = list[0]!.why;
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }
}
