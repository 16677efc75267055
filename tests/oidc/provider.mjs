// A real OpenID Connect provider for authsvc's web tests: oidc-provider
// (the certified npm package, pinned by package-lock.json beside this file
// and installed outside the clone by scripts/install-oidc-provider.sh) on
// 127.0.0.1, plain http.
//
//   node tests/oidc/provider.mjs CONFIG.json
//
// Prints one line, "ready <issuer> <url>", on stdout once it accepts
// connections (<url>: where it listens, http://127.0.0.1:<port>, which is
// the issuer unless the configuration names another);
// logs each request (method, path without the query, status) and the
// provider's events to stderr, never a secret; exits 0 on SIGTERM or
// SIGINT once its connections are closed. tests/e2e/oidc_provider.py writes
// the configuration and runs it.
//
// CONFIG.json (only node_modules, clients and jwks are required):
//   node_modules  the installed folder (the one the installer prints). ESM
//                 ignores NODE_PATH, so oidc-provider is imported from here
//                 by absolute path; its own imports resolve beside it.
//   port          on 127.0.0.1; 0 or absent: any free port, chosen here, so
//                 nothing can take it between choosing and listening
//   issuer        default http://127.0.0.1:<port>; another (e.g. a test's
//                 proxy in front of this port) is taken as it is: the ID
//                 tokens name it, and the discovery document's endpoints
//                 are on the origin each request came to (its Host)
//   clients       client metadata as oidc-provider takes it, e.g.
//                 {client_id, client_secret, redirect_uris,
//                  token_endpoint_auth_method: "client_secret_basic",
//                  id_token_signed_response_alg: "RS256" or "ES256"}
//   jwks          {keys: [private JWKs]}, each with its own kid; the ID token
//                 of a client is signed with the key of its alg
//   accounts      {login: {claim: value}}: what the account of a login
//                 says, e.g. {"email": "bob@example.org", "email_verified":
//                 false, "groups": ["admins"]}; a login not listed gets
//                 {email: login, email_verified: true}. sub is the login.
//   claims        which scope releases which claims; by default the email
//                 scope releases email and email_verified, profile the
//                 usual names, and openid (always requested) sub and every
//                 other claim an account has (groups, ...)
//   ttl           seconds, by oidc-provider's names: {"IdToken": 30,
//                 "AuthorizationCode": 60, "AccessToken": ..., "Session": ...}
//
// What is fixed: the code flow only, PKCE required with S256,
// devInteractions (the package's own sign-in and consent pages: any login
// with any password signs in), and conformIdTokenClaims false, so that
// email and email_verified are in the ID token, not only at userinfo. A
// client registered for client_secret_basic (the default) that sends its
// secret in the token request's body is refused (see below).

import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';

function log(message) {
  process.stderr.write(`provider: ${message}\n`);
}

if (process.argv.length !== 3) {
  log('usage: node provider.mjs CONFIG.json');
  process.exit(2);
}
const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
if (!config.node_modules || !config.clients || !config.jwks) {
  log('the configuration needs node_modules, clients and jwks');
  process.exit(2);
}

const packageDir = path.join(config.node_modules, 'oidc-provider');
const packageJson = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
const { default: Provider } = await import(
  pathToFileURL(path.join(packageDir, packageJson.main)).href);

const server = http.createServer();
try {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port ?? 0, '127.0.0.1', resolve);
  });
} catch (e) {
  log(`cannot listen on 127.0.0.1:${config.port ?? 0}: ${e.message}`);
  process.exit(1);
}
const { port } = server.address();
const issuer = config.issuer ?? `http://127.0.0.1:${port}`;

const accounts = config.accounts ?? {};
const profileClaims = ['name', 'given_name', 'family_name', 'preferred_username', 'locale'];
const standard = new Set(['sub', 'email', 'email_verified', ...profileClaims]);
const otherClaims = new Set();
for (const claims of Object.values(accounts)) {
  for (const name of Object.keys(claims)) {
    if (!standard.has(name)) otherClaims.add(name);
  }
}

async function findAccount(ctx, sub) {
  const own = Object.hasOwn(accounts, sub) ? accounts[sub] : { email: sub, email_verified: true };
  return {
    accountId: sub,
    async claims() {
      return { ...own, sub };
    },
  };
}

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: config.jwks,
  findAccount,
  claims: config.claims ?? {
    openid: ['sub', ...otherClaims],
    email: ['email', 'email_verified'],
    profile: profileClaims,
  },
  conformIdTokenClaims: false,
  responseTypes: ['code'],
  pkce: { methods: ['S256'], required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    Grant: 3600,
    IdToken: 3600,
    Interaction: 600,
    RefreshToken: 3600,
    Session: 3600,
    ...(config.ttl ?? {}),
  },
});

provider.use(async (ctx, next) => {
  const started = process.hrtime.bigint();
  try {
    await next();
  } finally {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    log(`${ctx.method} ${ctx.path} -> ${ctx.status} (${ms.toFixed(1)} ms)`);
  }
});

// Stricter than oidc-provider, whose token endpoint takes the secret of a
// client registered for client_secret_basic in the body as well (it treats
// basic and post alike): the web tests must see the client use HTTP Basic.
// The body read here is handed on as req.body, which oidc-provider reads
// when the request stream is spent (it warns once that it does).
const basicClients = new Set(config.clients
  .filter((c) => (c.token_endpoint_auth_method ?? 'client_secret_basic') === 'client_secret_basic')
  .map((c) => c.client_id));
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/token' && ctx.is('application/x-www-form-urlencoded')) {
    const chunks = [];
    let length = 0;
    for await (const chunk of ctx.req) {
      length += chunk.length;
      if (length > 64 * 1024) ctx.throw(413);
      chunks.push(chunk);
    }
    ctx.req.body = Buffer.concat(chunks).toString('utf8');
    const form = new URLSearchParams(ctx.req.body);
    if (form.has('client_secret') && basicClients.has(form.get('client_id'))) {
      log(`token: refused: client ${form.get('client_id')} is registered for client_secret_basic `
        + 'and sent its secret in the body');
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Basic realm="token"');
      ctx.body = {
        error: 'invalid_client',
        error_description: 'client authentication failed (client_secret_basic required)',
      };
      return;
    }
  }
  await next();
});

// Events, without the artifacts they carry: a code or token never reaches
// the log.
const errorEvents = ['authorization.error', 'grant.error', 'userinfo.error', 'jwks.error',
  'discovery.error', 'end_session.error', 'introspection.error', 'revocation.error',
  'registration_create.error', 'pushed_authorization_request.error'];
for (const name of errorEvents) {
  provider.on(name, (ctx, err) => {
    const detail = err.error_detail ? ` (${err.error_detail})` : '';
    log(`${name}: ${err.error ?? err.name}: ${err.error_description ?? err.message}${detail}`);
  });
}
provider.on('server_error', (ctx, err) => log(`server_error: ${err.stack}`));
provider.on('interaction.started', (ctx, prompt) => log(`interaction.started: ${prompt.name}`));
provider.on('interaction.ended', () => log('interaction.ended'));
provider.on('authorization.success', (ctx) => log(`authorization.success: client ${ctx.oidc.client?.clientId}`));
provider.on('grant.success', (ctx) => log(`grant.success: client ${ctx.oidc.client?.clientId}`));
provider.on('grant.revoked', () => log('grant.revoked'));
provider.on('authorization_code.consumed', (code) => log(`authorization_code.consumed: client ${code.clientId}`));

// oidc-provider checks a static client's metadata when the client is first
// used; a mistake in the test's configuration should stop the start instead.
for (const { client_id: clientId } of config.clients) {
  try {
    if (!await provider.Client.find(clientId)) throw new Error('not found');
  } catch (e) {
    log(`client ${clientId}: ${e.error_description ?? e.message}`);
    process.exit(1);
  }
}

server.on('request', provider.callback());

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: closing`);
  server.close((err) => {
    if (err) {
      log(`close: ${err.message}`);
      process.exit(1);
    }
    log('closed');
    process.exit(0);
  });
  // Browsers keep connections alive; close() alone would wait for them.
  server.closeAllConnections();
  setTimeout(() => {
    log('connections still open 5 s after closing');
    process.exit(1);
  }, 5000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

log(`oidc-provider ${packageJson.version} on node ${process.version}`);
process.stdout.write(`ready ${issuer} http://127.0.0.1:${port}\n`);
