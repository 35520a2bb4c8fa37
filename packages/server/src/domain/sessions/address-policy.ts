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

/** An IPv4 address written inside IPv6 (::ffff:a.b.c.d, ::a.b.c.d) is judged as the IPv4 address. */
function unmapped(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const m = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (m) return { address: m[1]!, family: 'ipv4' }
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address)
  if (hex) {
    const n = (parseInt(hex[1]!, 16) << 16) | parseInt(hex[2]!, 16)
    return { address: [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'), family: 'ipv4' }
  }
  return { address, family: isIP(address) === 4 ? 'ipv4' : 'ipv6' }
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
