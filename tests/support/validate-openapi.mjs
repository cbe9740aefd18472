// Validates an OpenAPI document read from stdin; prints {"valid", "errors"} as JSON.
// A separate process because the validator is an ES module, which Jest on Node 20 cannot require.
import { Validator } from '@seriousme/openapi-schema-validator';
import console from 'node:console';
import process from 'node:process';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const result = await new Validator().validate(JSON.parse(input));
console.log(JSON.stringify({ valid: result.valid, errors: result.errors }));
