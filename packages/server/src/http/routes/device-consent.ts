import type { FoundDeviceCode } from '../../domain/devices/device-authorizations.js'
import { formatUserCode } from '../../domain/devices/user-code.js'
import { consentPage, consentText, type ConsentText } from '../pages/consent-view.js'
import type { HttpServices } from '../services.js'

/** The consent page of the device flow: the consent piece's words and form, posting to /device/decision. */
export const deviceConsent = {
  async text(s: HttpServices, found: FoundDeviceCode): Promise<ConsentText> {
    const owner = await s.device.ownerOf(found.agent)
    return consentText({
      agent: found.agent, owner, role: found.role, scopes: found.code.scope, purposes: found.role.purposes,
      validDays: Math.round(s.device.consentValiditySeconds / 86_400),
    })
  },

  async digest(s: HttpServices, found: FoundDeviceCode): Promise<string> {
    return (await deviceConsent.text(s, found)).digest
  },

  /** The user code rides along so the decision names the same request; the digest says which words were shown. */
  async page(s: HttpServices, found: FoundDeviceCode, csrfToken: string, error?: string): Promise<string> {
    const text = await deviceConsent.text(s, found)
    return consentPage({ issuer: s.issuer(), text, formAction: '/device/decision', hidden: { user_code: formatUserCode(found.code.userCode), text_digest: text.digest }, csrfToken, error })
  },

  agentName(found: FoundDeviceCode): string {
    const name = found.agent.metadata.client_name
    return typeof name === 'string' ? name : found.agent.id
  },
}
