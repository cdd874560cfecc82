// tests/codat/sdk.mjs - drives Codat's own SDK (@codat/platform, configured the
// Codat way: authHeader + serverURL) against a live hostlink, for
// tests/integration/test_codat_sdk.py, which asserts the values.
//   node sdk.mjs companies|linked|finish  JSON-ARGS
// Env: CODAT_SERVER_URL ({app_url}/api/v2/public), CODAT_AUTH_HEADER
// ("Basic ...").  Prints one JSON line: what each call returned, as the SDK
// parsed it.  Any call the SDK cannot parse throws, and the script exits 1.
import { CodatPlatform } from '@codat/platform';

const sdk = new CodatPlatform({
  authHeader: process.env.CODAT_AUTH_HEADER,
  serverURL: process.env.CODAT_SERVER_URL,
  retryConfig: { strategy: 'none' },
});

const phases = {
  // companies create/get/list/update/replace, and a sandbox connection created
  async companies(a) {
    const out = {};
    out.created = await sdk.companies.create({ name: a.name, description: 'first', tags: { region: 'uk' } });
    out.bare = await sdk.companies.create({ name: a.name + ' bare' });
    out.got = await sdk.companies.get({ companyId: out.created.id });
    out.listed = await sdk.companies.list({ page: 1, pageSize: 1, query: 'name~' + a.name, orderBy: 'name' });
    out.byId = await sdk.companies.list({ query: 'id=' + out.bare.id });
    out.updated = await sdk.companies.update({
      companyId: out.created.id, companyUpdateRequest: { name: a.name + ' renamed' },
    });
    out.replaced = await sdk.companies.replace({
      companyId: out.bare.id, companyRequestBody: { name: a.name + ' replaced', tags: { tier: 'gold' } },
    });
    out.connection = await sdk.connections.create({
      companyId: out.created.id, requestBody: { platformKey: 'sandbox' },
    });
    return out;
  },
  // a Linked connection: list, get, unlink, delete; the rest of the surface
  async linked(a) {
    const out = {};
    out.listed = await sdk.connections.list({ companyId: a.companyId, page: 1, pageSize: 10 });
    out.got = await sdk.connections.get({ companyId: a.companyId, connectionId: a.connectionId });
    out.unlinked = await sdk.connections.unlink({
      companyId: a.companyId, connectionId: a.connectionId,
      updateConnectionStatus: { status: 'Unlinked' },
    });
    out.deleted = await sdk.connections.delete({ companyId: a.companyId, connectionId: a.connectionId }) ?? null;
    out.consumer = await sdk.webhooks.createConsumer({
      url: a.webhookUrl, eventTypes: ['company.created', 'connection.connected'], disabled: false,
    });
    out.consumers = await sdk.webhooks.listConsumers();
    out.consumerDeleted = await sdk.webhooks.deleteConsumer({ webhookId: out.consumer.id }) ?? null;
    out.consumersAfter = await sdk.webhooks.listConsumers();
    out.integrations = await sdk.integrations.list({ page: 1, pageSize: 50 });
    out.integration = await sdk.integrations.get({ platformKey: 'sandbox' });
    out.profile = await sdk.settings.getProfile();
    out.companyDeleted = await sdk.companies.delete({ companyId: a.companyId }) ?? null;
    // an error the SDK parses as Codat's ErrorMessage
    try {
      await sdk.companies.get({ companyId: a.companyId });
      out.notFound = 'no error';
    } catch (e) {
      out.notFound = { name: e.constructor.name, statusCode: e.statusCode, service: e.service,
        correlationId: e.correlationId, canBeRetried: e.canBeRetried };
    }
    return out;
  },
};

const [phase, args] = process.argv.slice(2);
if (!phases[phase]) {
  console.error('usage: node sdk.mjs companies|linked JSON-ARGS');
  process.exit(2);
}
try {
  console.log(JSON.stringify(await phases[phase](JSON.parse(args || '{}'))));
} catch (e) {
  console.error(e.stack || String(e));
  if (e.rawResponse) console.error('response status ' + e.rawResponse.status);
  if (e.body) console.error('body ' + e.body);
  if (e.rawValue) console.error('raw ' + JSON.stringify(e.rawValue).slice(0, 2000));
  process.exit(1);
}
