import type { RecordedResponse } from '@touch-crm/test-utils';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

type Schema = Record<string, unknown>;
type MediaTypes = Record<string, { schema?: Schema }>;
type ResponseObject = { $ref?: string; content?: MediaTypes };
type Operation = { responses: Record<string, ResponseObject>; 'x-error-reasons'?: Record<string, string[]> };
export type OpenApiDocument = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; responses: Record<string, ResponseObject> };
};

/** Where a response was checked, and what was wrong with it (nothing when it conforms). */
export interface Verdict {
  operation: string;
  status: number;
  problem?: string;
}

const REST_PREFIX = '/api/v1';
/** Bodies we check: JSON of either kind. CSV and NDJSON streams are opaque strings to the document. */
const JSON_TYPES = new Set(['application/json', 'application/problem+json']);

/**
 * Checks real answers against the served /openapi.json with Ajv (JSON Schema 2020-12, the dialect
 * of OpenAPI 3.1): the status must be documented for the operation, the media type listed, the
 * body valid against its schema, and a problem's `reason` one the operation lists for the status
 * (`x-error-reasons`). An answer of no operation (an unknown path) must be a problem.
 */
export function createConformanceChecker(document: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  // The components, under an id the operation schemas point into.
  ajv.addSchema({ $id: 'doc', components: document.components });
  const compiled = new Map<string, ValidateFunction>();
  const validatorOf = (key: string, schema: Schema) => {
    let validate = compiled.get(key);
    if (!validate) {
      const text = JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/');
      validate = ajv.compile(JSON.parse(text) as Schema);
      compiled.set(key, validate);
    }
    return validate;
  };

  // Templates with fewer parameters first, so `/tasks/my-tasks` wins over `/tasks/{id}`.
  const templates = Object.keys(document.paths)
    .map((template) => ({
      template,
      params: (template.match(/\{/g) ?? []).length,
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }))
    .sort((a, b) => a.params - b.params);

  const resolve = (response: ResponseObject): ResponseObject =>
    response.$ref ? (document.components.responses[response.$ref.split('/').pop() ?? ''] ?? {}) : response;

  return (recorded: RecordedResponse): Verdict => {
    const method = recorded.method.toLowerCase();
    const path = recorded.path.startsWith(REST_PREFIX) ? recorded.path.slice(REST_PREFIX.length) : undefined;
    const match =
      path === undefined
        ? undefined
        : templates.find((t) => t.pattern.test(path) && document.paths[t.template]?.[method]);
    if (!match) {
      const operation = `(no operation) ${recorded.method} ${recorded.path}`;
      return check(operation, recorded, {
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      });
    }
    const operation = `${recorded.method.toUpperCase()} ${match.template}`;
    const documentedOperation = document.paths[match.template]?.[method];
    const documented = documentedOperation?.responses[String(recorded.status)];
    if (!documented)
      return { operation, status: recorded.status, problem: `status ${recorded.status} is not documented` };
    const reason = (recorded.body as { reason?: unknown } | undefined)?.reason;
    const reasons = documentedOperation?.['x-error-reasons']?.[String(recorded.status)] ?? [];
    if (reason !== undefined && !reasons.includes(reason as string))
      return { operation, status: recorded.status, problem: `reason ${String(reason)} is not documented` };
    return check(operation, recorded, resolve(documented));
  };

  function check(operation: string, recorded: RecordedResponse, response: ResponseObject): Verdict {
    const verdict = { operation, status: recorded.status };
    const content = response.content ?? {};
    if (Object.keys(content).length === 0)
      return recorded.text === '' ? verdict : { ...verdict, problem: 'a body where the document has none' };
    const type = recorded.contentType ?? '';
    const media = content[type];
    if (!media)
      return { ...verdict, problem: `media type ${type} is not documented (${Object.keys(content).join(', ')})` };
    if (!JSON_TYPES.has(type) || !media.schema) return verdict;
    const validate = validatorOf(`${operation} ${recorded.status} ${type}`, media.schema);
    if (validate(recorded.body)) return verdict;
    return { ...verdict, problem: `${ajv.errorsText(validate.errors)}: ${recorded.text.slice(0, 300)}` };
  }
}
