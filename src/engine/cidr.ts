// IPv4/IPv6 addresses and prefixes for CIDR rules (`fromCIDR`, `toCIDRSet` with `except`,
// Kubernetes `ipBlock`). Addresses are held as bigints with their family, so one comparison
// serves both families.

export interface IpAddress {
  family: 4 | 6;
  value: bigint;
  text: string;
}

export interface IpPrefix {
  family: 4 | 6;
  /** The network address, host bits cleared. */
  network: bigint;
  length: number;
  text: string;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (v4 === undefined) return undefined;
        groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(group);
  return value;
}

/** An IPv4 or IPv6 address, or undefined when `text` is neither. */
export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4, text };
  const v6 = parseIpv6(text);
  if (v6 !== undefined) return { family: 6, value: v6, text };
  return undefined;
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a host prefix), as Cilium accepts them. */
export function parsePrefix(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  const address = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (!address) return undefined;
  const bits = address.family === 4 ? 32 : 128;
  let length = bits;
  if (slash !== -1) {
    const lengthText = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(lengthText)) return undefined;
    length = Number(lengthText);
    if (length > bits) return undefined;
  }
  return { family: address.family, network: maskTo(address.value, bits, length), length, text };
}

function maskTo(value: bigint, bits: number, length: number): bigint {
  const hostBits = BigInt(bits - length);
  return (value >> hostBits) << hostBits;
}

export function prefixContains(prefix: IpPrefix, address: IpAddress): boolean {
  if (prefix.family !== address.family) return false;
  return maskTo(address.value, prefix.family === 4 ? 32 : 128, prefix.length) === prefix.network;
}

/** A prefix that covers a whole address family (`0.0.0.0/0`, `::/0`). */
export function isWholeFamily(prefix: IpPrefix): boolean {
  return prefix.length === 0;
}
