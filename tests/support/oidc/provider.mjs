// A local OpenID Connect provider shaped like FranceConnect v2, for the tests and the demo.
//
//   node tests/support/oidc/provider.mjs PORT
//
// Environment: OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS and
// OIDC_POST_LOGOUT_REDIRECT_URIS (space-separated). Mounted under /api/v2 on 127.0.0.1;
// ES256 signing key made at start; userinfo answered as a signed JWT (application/jwt);
// acr eidas1; FranceConnect's pivot claims; a page to pick a test identity; session/end.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 0);
const issuer = `http://127.0.0.1:${port}/api/v2`;
const env = (name, fallback) => process.env[name] || fallback;
const list = (value) => value.split(/\s+/).filter(Boolean);

// Test identities in FranceConnect's shape; Camille DEMO matches the demo's and the tests'
// Eure-et-Loir assistant to activate (PMI number 280002, born 12/04/1985: assmat/demo.py).
export const IDENTITIES = {
  'fc-camille-demo': {
    given_name: 'Camille', family_name: 'DEMO', birthdate: '1985-04-12', gender: 'female',
    birthplace: '28085', birthcountry: '99100', email: 'camille.demo@example.org', preferred_username: '',
  },
  'fc-sophie-martin': {
    given_name: 'Sophie', family_name: 'MARTIN', birthdate: '1978-04-12', gender: 'female',
    birthplace: '28085', birthcountry: '99100', email: 'sophie.martin@example.org', preferred_username: '',
  },
  'fc-angela-dubois': {
    given_name: 'Angela Claire Louise', family_name: 'DUBOIS', birthdate: '1962-08-24', gender: 'female',
    birthplace: '75107', birthcountry: '99100', email: 'wossewodda-3728@yopmail.com', preferred_username: '',
  },
  'fc-pierre-mercier': {
    given_name: 'Pierre', family_name: 'MERCIER', birthdate: '1969-03-17', gender: 'male',
    birthplace: '', birthcountry: '99217', email: 'pierre.mercier@example.org', preferred_username: 'DUBOIS',
  },
};
if (process.env.OIDC_IDENTITIES) Object.assign(IDENTITIES, JSON.parse(process.env.OIDC_IDENTITIES));

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signing = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'ES256', use: 'sig' };

const PIVOT = ['given_name', 'family_name', 'birthdate', 'gender', 'birthplace', 'birthcountry', 'email', 'preferred_username'];
const claims = { openid: ['sub'] };
for (const claim of PIVOT) claims[claim] = [claim];

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const layout = (title, body) => `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: env('OIDC_CLIENT_ID', 'assmat-test'),
    client_secret: env('OIDC_CLIENT_SECRET', 'assmat-test-secret-assmat-test-secret'),
    redirect_uris: list(env('OIDC_REDIRECT_URIS', 'http://127.0.0.1/franceconnect/retour')),
    post_logout_redirect_uris: list(env('OIDC_POST_LOGOUT_REDIRECT_URIS', 'http://127.0.0.1/franceconnect/deconnecte')),
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'ES256',
    userinfo_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [signing] },
  acrValues: ['eidas1'],
  claims,
  scopes: ['openid', ...PIVOT],
  pkce: { required: () => false },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  routes: { authorization: '/authorize', token: '/token', userinfo: '/userinfo', end_session: '/session/end', jwks: '/jwks' },
  features: {
    devInteractions: { enabled: false },
    jwtUserinfo: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = layout('Déconnexion de FranceConnect', `${form}<p>Voulez-vous vous déconnecter de FranceConnect ?</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes">Se déconnecter</button>`);
      },
    },
  },
  findAccount: async (ctx, sub) => (IDENTITIES[sub] ? { accountId: sub, claims: async () => ({ sub, ...IDENTITIES[sub] }) } : undefined),
  // Every identity agrees to share what the service asks for: no consent page.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(ctx.oidc.params.scope);
    await grant.save();
    return grant;
  },
  interactions: { url: (ctx, interaction) => `/api/v2/interaction/${interaction.uid}` },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, IdToken: 600, AccessToken: 600, AuthorizationCode: 60 },
});
provider.proxy = false;

const readForm = (req) => new Promise((resolve, reject) => {
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => resolve(new URLSearchParams(body)));
  req.on('error', reject);
});

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'POST') {
    const form = await readForm(req);
    const sub = form.get('sub');
    if (form.get('cancel')) {
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'User cancelled' }, { mergeWithLastSubmission: false });
    }
    if (!IDENTITIES[sub]) throw new Error('unknown identity');
    return provider.interactionFinished(req, res, { login: { accountId: sub, acr: 'eidas1', amr: ['pwd'] } }, { mergeWithLastSubmission: false });
  }
  const buttons = Object.entries(IDENTITIES).map(([sub, who]) => `<li><form method="post" action="/api/v2/interaction/${escape(uid)}">
<input type="hidden" name="sub" value="${escape(sub)}"><button type="submit">${escape(`${who.given_name} ${who.family_name}`)} (${escape(who.birthdate)})</button></form></li>`).join('');
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end(layout('FranceConnect (fournisseur de test) : choisissez une identité', `<ul>${buttons}</ul>
<form method="post" action="/api/v2/interaction/${escape(uid)}"><button type="submit" name="cancel" value="1">Annuler</button></form>`));
}

const callback = provider.callback();
http.createServer(async (req, res) => {
  try {
    if (!req.url.startsWith('/api/v2/')) { res.statusCode = 404; return res.end(); }
    const match = req.url.match(/^\/api\/v2\/interaction\/([\w-]+)$/);
    if (match) return await interaction(req, res, match[1]);
    req.originalUrl = req.url;
    req.url = req.url.slice('/api/v2'.length);
    return callback(req, res);
  } catch (error) {
    res.statusCode = 400;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    return res.end(String(error.message || error));
  }
}).listen(port, '127.0.0.1', () => console.log(`oidc provider ready on ${issuer}`));
