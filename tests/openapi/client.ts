// A typed client generated from the served OpenAPI document, as README's
// "OpenAPI" section shows: openapi-typescript made ./hostlink.d.ts from
// GET /api/v2/public/openapi.json; openapi-fetch makes the calls.  Compiled
// with tsc --strict (a call the document does not describe fails to
// compile) and run by tests/integration/test_openapi.py against a live
// stack: HOSTLINK_URL, HOSTLINK_KEY.  Prints what it got as JSON.
import createClient from "openapi-fetch";
import type { paths } from "./hostlink.js";

declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

const hl = createClient<paths>({
  baseUrl: process.env.HOSTLINK_URL,
  headers: { "x-api-key": process.env.HOSTLINK_KEY ?? "" },
});

async function main(): Promise<void> {
  const key = "client-" + Date.now();
  const created = await hl.POST("/api/v2/public/companies", {
    body: { name: "Typed Co", tags: { via: "openapi-fetch" } },
    params: { header: { "Idempotency-Key": key } },
  });
  if (created.error || !created.data) throw new Error("create: " + JSON.stringify(created.error));
  const id: string = created.data.id;
  const got = await hl.GET("/api/v2/public/companies/{id}", { params: { path: { id } } });
  const list = await hl.GET("/api/v2/public/companies", { params: { query: { pageSize: 5 } } });
  const missing = await hl.GET("/api/v2/public/companies/{id}", {
    params: { path: { id: "00000000-0000-4000-8000-000000000000" } },
  });
  const rotated = await hl.POST("/api/v2/public/companies/{id}/link/rotate", {
    params: { path: { id }, header: { "Idempotency-Key": key + "-rotate" } },
  });
  console.log(JSON.stringify({
    id,
    name: got.data?.name,
    tags: got.data?.tags,
    listed: list.data?.results.some((c) => c.id === id),
    missing: missing.error?.error_code,
    rotated: rotated.data?.redirect !== created.data.redirect,
  }));
}

main().catch((e) => { console.error(e); process.exit(1); });
