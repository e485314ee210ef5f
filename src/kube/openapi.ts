// Structural OpenAPI v3 validation (the CRD schema dialect). The implementation currently lives with
// the test API server; this module is the production entry point to it.
export { formatSchemaError, validateSchema, type JsonSchema, type SchemaError } from '../../test/support/openapi.js';
