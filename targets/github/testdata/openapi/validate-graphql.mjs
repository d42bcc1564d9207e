// Usage: node validate-graphql.mjs QUERY_FILE
// Validates a GraphQL query text against GitHub's own GraphQL schema (npm
// @octokit/graphql-schema, pinned in package.json). Prints nothing and exits 0
// when the query is valid; prints each error and exits 1 otherwise.
import { readFileSync } from "node:fs";
import { validate } from "@octokit/graphql-schema";

const errors = validate(readFileSync(process.argv[2], "utf8"));
for (const e of errors) console.log(e.message);
process.exit(errors.length ? 1 : 0);
