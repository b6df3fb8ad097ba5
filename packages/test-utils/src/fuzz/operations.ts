/** The slice of an OpenAPI 3.1 document the fuzzer reads. */
export type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  default?: unknown;
};

interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
  schema?: JsonSchema;
}

interface OperationObject {
  operationId?: string;
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  security?: unknown[];
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export interface FuzzParameter {
  name: string;
  required: boolean;
  schema: JsonSchema;
}

export interface FuzzOperation {
  operationId: string;
  method: string;
  /** The OpenAPI path below /api/v1, e.g. `/customers/{id}`. */
  path: string;
  pathParams: FuzzParameter[];
  queryParams: FuzzParameter[];
  /** The body's media type and schema (`application/json`, `text/csv`, `multipart/form-data`). */
  body?: { contentType: string; schema: JsonSchema };
  authenticated: boolean;
  /** The tRPC procedure behind it (`customers.list`), when the operation is a procedure. */
  procedure?: string;
  /** A query (GET over /trpc) or a mutation (POST). */
  procedureKind: 'query' | 'mutation';
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

/** Follows `$ref`s into components.schemas, so generators see plain schemas. */
export function schemaResolver(document: OpenApiDocument) {
  const components = document.components?.schemas ?? {};
  return (schema: JsonSchema): JsonSchema => {
    let current = schema;
    for (let hops = 0; current.$ref && hops < 10; hops++) {
      const name = current.$ref.replace('#/components/schemas/', '');
      const { $ref: _, ...rest } = current;
      current = { ...(components[name] ?? {}), ...rest };
    }
    return current;
  };
}

/**
 * Every operation of the document. `procedures` names the tRPC procedures that exist, so
 * operations served by plain routes (import, export) are fuzzed over REST only.
 */
export function operationsOf(document: OpenApiDocument, procedures: ReadonlySet<string>): FuzzOperation[] {
  const operations: FuzzOperation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const operationId = operation.operationId ?? `${method} ${path}`;
      const params = (operation.parameters ?? []).map((parameter) => ({
        in: parameter.in,
        name: parameter.name,
        required: parameter.required ?? parameter.in === 'path',
        schema: parameter.schema ?? { type: 'string' },
      }));
      const [contentType, media] = Object.entries(operation.requestBody?.content ?? {})[0] ?? [];
      const procedure = operationId.replaceAll('-', '.');
      operations.push({
        operationId,
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((parameter) => parameter.in === 'path'),
        queryParams: params.filter((parameter) => parameter.in === 'query'),
        body: contentType ? { contentType, schema: media?.schema ?? {} } : undefined,
        authenticated: (operation.security ?? []).length > 0,
        procedure: procedures.has(procedure) ? procedure : undefined,
        procedureKind: method === 'get' ? 'query' : 'mutation',
      });
    }
  }
  return operations;
}
