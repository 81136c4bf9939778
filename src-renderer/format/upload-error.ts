// What an upload refusal means for the operator. The hub's message says
// which check failed ("artifact X refused (<code>): <reason>"); this adds
// the one sentence on what it means and what to do.

const EXPLANATIONS: [RegExp, string][] = [
  [/\(bad-signature\)/, 'The signature does not match the contents: the file was altered or damaged after it was signed. Do not deploy it; build and sign it again.'],
  [/\((payload-hash-mismatch|payload-size-mismatch|payload-corrupt)\)/, 'A payload does not match its signed hash: the file was altered or damaged. Build or download it again.'],
  [/\((truncated|missing-entry)\)|upload truncated/, 'The file is incomplete: copy or download it again.'],
  [/\((malformed|unexpected-entry|trailing-data|unsupported-version|too-large|unknown-compression)\)/, 'This is not a valid artifact: make one with fleet-artifact write.'],
  [/permission denied/, 'Your operator role cannot upload artifacts: ask an admin.'],
  [/needs the hub|hub unreachable|not connected/, 'Uploading needs a live connection to the hub.'],
];

export function explainUploadError(message: string): string {
  return EXPLANATIONS.find(([pattern]) => pattern.test(message))?.[1] ?? '';
}
