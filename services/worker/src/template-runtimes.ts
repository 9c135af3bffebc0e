// The runtimes a container backend offers through templates: each built-in language row names the built-in
// template that serves it, and each compiled language (c, cpp, go, rust, java, ruby, php) gets a row of its own,
// available when its default template is ready, with the template's reason otherwise. The same rows for a
// worker's registry (embedded mode) and a NATS gateway's view of its fleet.

import { COMPILED_LANGUAGES, type Language } from '@airlock/protocol';
import { DEFAULT_TEMPLATES, type RuntimeInfo, type Sandbox, type TemplateInfo } from '@airlock/sandbox';

/** `sandbox.runtimes()` with the templates behind them; `templates` are the ones this backend can run. */
export function runtimesWithTemplates(sandbox: Sandbox, templates: readonly TemplateInfo[]): RuntimeInfo[] {
  const rows = sandbox.runtimes().map((row) => ({ ...row, template: DEFAULT_TEMPLATES[row.language] }));
  const open = rows.every((row) => row.available);
  const compiled = COMPILED_LANGUAGES.filter((language) => sandbox.languages.includes(language));
  return [...rows, ...compiled.map((language) => compiledRow(sandbox, language, templates, open))];
}

function compiledRow(
  sandbox: Sandbox,
  language: Language,
  templates: readonly TemplateInfo[],
  open: boolean,
): RuntimeInfo {
  const name = DEFAULT_TEMPLATES[language];
  const template = templates.find((t) => t.name === name);
  const row = { language, backend: sandbox.backend, version: versionOf(template), template: name };
  if (!open) return { ...row, available: false, reason: 'the sandbox is closed' };
  if (template === undefined) {
    return {
      ...row,
      available: false,
      reason: `no template named ${name} is loaded (sandbox-images/templates)`,
    };
  }
  if (template.state !== 'ready') {
    return {
      ...row,
      available: false,
      reason: `template ${name} is ${template.state}${template.reason ? `: ${template.reason}` : ''}`,
    };
  }
  return { ...row, available: true };
}

/** The template's first package with its version (its compiler or interpreter, as the spec lists it first). */
function versionOf(template: TemplateInfo | undefined): string {
  const first = Object.entries(template?.packages ?? {})[0];
  return first ? `${first[0]} ${first[1]}` : 'unknown until the template is built';
}
