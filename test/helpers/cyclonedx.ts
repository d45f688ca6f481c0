import { Spec, Validation } from '@cyclonedx/cyclonedx-library';

/** Schema errors of a CycloneDX 1.5 JSON document, by the CycloneDX project's own validator; null when valid. */
export async function cycloneDxErrors(doc: unknown): Promise<unknown> {
  return new Validation.JsonStrictValidator(Spec.Version.v1dot5).validate(typeof doc === 'string' ? doc : JSON.stringify(doc));
}
