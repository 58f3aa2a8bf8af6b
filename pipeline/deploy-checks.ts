import { BlockList, isIP } from 'node:net';
import { ConfigError, type PipelineConfig } from './config';

/**
 * Checks that only a deployment needs: a config the local runner happily uses (a loopback
 * fixture site, a placeholder alert address) would deploy a Lambda that crawls itself every
 * morning and mails nobody. Called by the program before it declares any resource; the local
 * runner never calls it. Returns the config it was given.
 *
 * Only the names and addresses written in the config are judged: a public name that resolves to
 * a private address is beyond what can be checked without DNS at preview time.
 */
export function checkDeployable(config: PipelineConfig): PipelineConfig {
  const siteHost = new URL(config.siteUrl).hostname;
  checkHost('siteUrl', 'host', siteHost, config.allowPrivateSite);
  config.endpoints.forEach((endpoint, i) => {
    const host = new URL(endpoint.url).hostname;
    if (host !== siteHost) checkHost('endpoints', `item ${i} (${endpoint.name}) url host`, host, config.allowPrivateSite);
  });
  if (config.alertEmail !== undefined) checkAlertEmail(config.alertEmail);
  return config;
}

interface Reach {
  /** `never`: no Lambda reaches it, in a VPC or not; `private`: only a network that routes or resolves it, such as a VPC. */
  kind: 'never' | 'private';
  /** Completes "host ... is". */
  what: string;
}

function addressRanges(): Array<{ list: BlockList; reach: Reach }> {
  const range = (reach: Reach, subnets: Array<[string, number, 'ipv4' | 'ipv6']>) => {
    const list = new BlockList();
    for (const [network, prefix, family] of subnets) list.addSubnet(network, prefix, family);
    return { list, reach };
  };
  // An IPv4 rule also matches the IPv4-mapped IPv6 form (::ffff:127.0.0.1), which URL
  // normalises to ::ffff:7f00:1.
  return [
    range({ kind: 'never', what: 'loopback: a deployed Lambda would crawl itself' }, [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]),
    range({ kind: 'never', what: 'an unspecified address (0.0.0.0/8, ::), which a connection takes to mean this host: a deployed Lambda would crawl itself' }, [['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']]),
    range({ kind: 'never', what: 'link-local (169.254/16, fe80::/10): seen from a Lambda, that is its own runtime (metadata, Runtime API), never a WordPress site' }, [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]),
    range({ kind: 'private', what: 'a private address (RFC 1918), which a Lambda outside a VPC cannot reach' }, [['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4']]),
    range({ kind: 'private', what: 'a shared (carrier-grade NAT, 100.64/10) address, which a Lambda outside a VPC cannot reach' }, [['100.64.0.0', 10, 'ipv4']]),
    range({ kind: 'private', what: 'a unique-local IPv6 address (fc00::/7), which a Lambda outside a VPC cannot reach' }, [['fc00::', 7, 'ipv6']]),
  ];
}

/** Special-use names (RFC 6761, 6762, 8375; ICANN's .internal) that public DNS never answers, nor mail servers accept. */
const SPECIAL_USE_NAMES: Array<[string, Reach]> = [
  ['localhost', { kind: 'never', what: 'localhost: a deployed Lambda would crawl itself' }],
  ['example', { kind: 'never', what: 'under .example, a name reserved for documentation (a placeholder)' }],
  ['invalid', { kind: 'never', what: 'under .invalid, a name guaranteed never to resolve' }],
  ...['local', 'test', 'internal', 'home.arpa'].map((suffix): [string, Reach] => [suffix, { kind: 'private', what: `under .${suffix}, which only a private resolver answers` }]),
];

const isUnder = (name: string, suffix: string) => name === suffix || name.endsWith(`.${suffix}`);

function reservedName(host: string): Reach | undefined {
  const special = SPECIAL_USE_NAMES.find(([suffix]) => isUnder(host, suffix));
  if (special) return special[1];
  // A bare name such as a docker-compose service resolves only through a local search domain.
  if (!host.includes('.')) return { kind: 'private', what: 'a single-label name, which only a local resolver answers' };
  return undefined;
}

function reachOf(hostname: string): Reach | undefined {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  const family = isIP(host);
  if (family === 0) return reservedName(host);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  return addressRanges().find(({ list }) => list.check(host, type))?.reach;
}

function checkHost(key: string, label: string, hostname: string, allowPrivateSite: boolean): void {
  const reach = reachOf(hostname);
  if (!reach || (reach.kind === 'private' && allowPrivateSite)) return;
  const publicFix = key === 'siteUrl'
    ? 'pulumi config set siteUrl https://<your site\'s public host> on the stack you deploy (npm start, the local runner, accepts any site)'
    : 'point the endpoint at a public host, or remove it, on the stack you deploy';
  throw new ConfigError(
    key,
    `${label} "${hostname}" is ${reach.what}`,
    reach.kind === 'never' ? publicFix : `${publicFix}; or, if the functions run in a VPC that reaches it, pulumi config set allowPrivateSite true`,
  );
}

/** Domains of RFC 2606 that exist but accept no mail for anyone. */
const EXAMPLE_DOMAINS = ['example.com', 'example.org', 'example.net'];

function checkAlertEmail(address: string): void {
  const domain = address.slice(address.lastIndexOf('@') + 1).replace(/\.$/, '').toLowerCase();
  const example = EXAMPLE_DOMAINS.find((suffix) => isUnder(domain, suffix));
  const reserved = SPECIAL_USE_NAMES.find(([suffix]) => isUnder(domain, suffix))?.[0];
  if (example === undefined && reserved === undefined) return;
  throw new ConfigError(
    'alertEmail',
    `"${address}" is ${example ? `at ${example}, a domain reserved for examples` : `under .${reserved}, a reserved name`}: every alert would go to an address nobody reads`,
    'pulumi config set alertEmail <an address your team reads> on the stack you deploy, or remove it (pulumi config rm alertEmail) to deploy without e-mail alerts',
  );
}
