import { BlockList, isIP } from 'node:net'

// Addresses a probe must not reach unless the operator listed the host exactly: loopback,
// private (RFC 1918, RFC 4193), link-local (cloud metadata lives there), shared and reserved
// space. Lists from the IANA special-purpose registries (RFC 6890).
const inward = new BlockList()
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) inward.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) inward.addSubnet(net, bits, 'ipv6')

// Never a probe target, listed or not: nobody answers a health check there, or what answers is
// the cloud's instance metadata service (credentials), which no task's health can depend on.
const never = new BlockList()
never.addSubnet('0.0.0.0', 8, 'ipv4')
never.addSubnet('224.0.0.0', 3, 'ipv4')
never.addSubnet('169.254.0.0', 16, 'ipv4') // link-local: AWS, GCP, Azure, OCI metadata
never.addAddress('100.100.100.200', 'ipv4') // Alibaba Cloud metadata
never.addAddress('::', 'ipv6')
never.addSubnet('ff00::', 8, 'ipv6')
never.addSubnet('fe80::', 10, 'ipv6') // link-local
never.addAddress('fd00:ec2::254', 'ipv6') // AWS metadata over IPv6

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined
  let text = address.toLowerCase()
  // A dotted IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0')
  return [...left, ...fill, ...right].map((g) => parseInt(g, 16))
}

const v4 = (hi: number, lo: number) => [hi >>> 8, hi & 255, lo >>> 8, lo & 255].join('.')

/**
 * An IPv4 address carried inside IPv6 is judged as the IPv4 address: IPv4-mapped (::ffff:a.b.c.d),
 * IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d, RFC 6052) and 6to4 (2002:aabb:ccdd::, RFC 3056).
 */
function unmapped(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const g = ipv6Groups(address)
  if (!g) return { address, family: isIP(address) === 4 ? 'ipv4' : 'ipv6' }
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0)
  if (zero(0, 5) && g[5] === 0xffff) return { address: v4(g[6]!, g[7]!), family: 'ipv4' }
  // :: and ::1 are IPv6's own unspecified and loopback addresses, not IPv4-compatible ones.
  if (zero(0, 6) && (g[6] !== 0 || g[7]! > 1)) return { address: v4(g[6]!, g[7]!), family: 'ipv4' }
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return { address: v4(g[6]!, g[7]!), family: 'ipv4' }
  if (g[0] === 0x2002) return { address: v4(g[1]!, g[2]!), family: 'ipv4' }
  return { address, family: 'ipv6' }
}

/** Why no probe may ever connect to this IP literal, even when an operator lists it; undefined otherwise. */
export function neverProbed(address: string): string | undefined {
  if (isIP(address) === 0) return undefined
  const a = unmapped(address)
  return never.check(a.address, a.family) ? `${address} is a link-local, metadata-service or non-unicast address` : undefined
}

/** Why a probe may not connect to this address, or undefined when it may. */
export function addressRefusal(address: string, allowPrivate: boolean): string | undefined {
  if (isIP(address) === 0) return 'not an IP address'
  const a = unmapped(address)
  if (never.check(a.address, a.family)) return `${address} is a link-local, metadata-service or non-unicast address`
  if (!allowPrivate && inward.check(a.address, a.family)) return `${address} is a private, loopback or reserved address and the host is not listed exactly`
  return undefined
}
