// What an operator can do about each MTA-STS / TLS-RPT finding and failure
// reason of the `mta_sts` unit (keys mta_sts/*; docs/mta-sts.md).
#include "checks/mta_sts.h"

namespace smtp_exporter::probes {

const std::vector<Remediation>& mta_sts_remediations() {
  static const std::vector<Remediation> entries{
      {"mta_sts/txt_missing",
       "The domain publishes no MTA-STS TXT record",
       {"No `_mta-sts` TXT record starting with `v=STSv1`: senders see no MTA-STS policy and deliver "
        "opportunistically (a downgrade can strip STARTTLS).",
        "The module has `mta_sts = true` for a domain that never deployed MTA-STS."},
       {"Look: `dig TXT _mta-sts.{domain} +short`.",
        "Publish the policy at https://mta-sts.{domain}/.well-known/mta-sts.txt first, then the record "
        "`_mta-sts.{domain}. TXT \"v=STSv1; id=20260101T000000\"` (docs/mta-sts.md)."},
       {},
       {}},
      {"mta_sts/txt_invalid",
       "The MTA-STS TXT record is malformed or duplicated",
       {"More than one `_mta-sts` TXT record starts with `v=STSv1`: senders then assume no policy (RFC 8461 §3.1).",
        "The record has no `id=`, or an id that is not 1 to 32 letters and digits (no '-', '.', ':')."},
       {"Look: `dig TXT _mta-sts.{domain} +short`.",
        "Keep exactly one record `v=STSv1; id=ID` with ID of letters and digits, e.g. a timestamp 20260101T000000 "
        "without the 'T' separators' punctuation."},
       {},
       {}},
      {"mta_sts/policy_fetch_error",
       "The MTA-STS policy cannot be fetched",
       {"`mta-sts.{domain}` does not resolve, nothing listens on port 443, or the TLS handshake fails.",
        "The web server sends no SNI virtual host for `mta-sts.{domain}` (RFC 8461 requires SNI).",
        "The probe's deadline passed during the fetch."},
       {"Try it: `curl -sv https://mta-sts.{domain}/.well-known/mta-sts.txt`.",
        "Check `dig +short mta-sts.{domain}` and the web server's virtual host for that name."},
       {},
       {"An Ingress for `mta-sts.{domain}` with a TLS secret for that name, serving the policy as a ConfigMap."}},
      {"mta_sts/policy_certificate_error",
       "The MTA-STS policy host's certificate is not valid for its name",
       {"The certificate of `mta-sts.{domain}` does not name `mta-sts.{domain}` (a shared certificate of another "
        "site), is expired, or is not signed by a trusted CA. Senders then ignore the policy (RFC 8461 §3.3)."},
       {"See the certificate: `openssl s_client -connect mta-sts.{domain}:443 -servername mta-sts.{domain} "
        "-verify_hostname mta-sts.{domain} </dev/null`.",
        "Issue a certificate that includes `mta-sts.{domain}` (e.g. certbot -d mta-sts.{domain})."},
       {},
       {"cert-manager: add `mta-sts.{domain}` to the Ingress' tls hosts."}},
      {"mta_sts/policy_http_status",
       "The MTA-STS policy URL does not answer 200",
       {"A 404: the file is not at `/.well-known/mta-sts.txt`.",
        "A redirect (e.g. to https://www.{domain}/...): RFC 8461 §3.3 forbids following it, so senders see no policy."},
       {"Try it: `curl -si https://mta-sts.{domain}/.well-known/mta-sts.txt | head -1`.",
        "Serve the file itself on `mta-sts.{domain}`, without a redirect (exempt the path from HTTP-to-www rules)."},
       {},
       {}},
      {"mta_sts/policy_content_type",
       "The MTA-STS policy is not served as text/plain",
       {"The web server's default type (text/html, application/octet-stream) applies to the file: senders reject "
        "other media types (RFC 8461 §3.2)."},
       {"Check: `curl -sI https://mta-sts.{domain}/.well-known/mta-sts.txt | grep -i content-type`.",
        "nginx: `location = /.well-known/mta-sts.txt { default_type text/plain; }`; Apache: "
        "`<Files mta-sts.txt> ForceType text/plain </Files>`."},
       {},
       {}},
      {"mta_sts/policy_too_large",
       "The MTA-STS policy is larger than 64 KiB",
       {"The URL serves something else than a policy (a page, a file), or a policy with thousands of mx lines."},
       {"Check: `curl -s https://mta-sts.{domain}/.well-known/mta-sts.txt | wc -c`.",
        "Use `*.` patterns instead of listing every host; serve only the policy."},
       {},
       {}},
      {"mta_sts/policy_invalid",
       "The MTA-STS policy does not parse",
       {"A missing or wrong `version: STSv1`, `mode`, `max_age` (0 to 31557600), or no `mx` line with a mode other "
        "than none.",
        "An `mx:` line holding an IP address or a '*' elsewhere than as the whole left-most label (RFC 8461 §3.2)."},
       {"Read it: `curl -s https://mta-sts.{domain}/.well-known/mta-sts.txt`; the probe's log names the line.",
        "Fix the file, then change the id of `_mta-sts.{domain}` so that senders fetch it again."},
       {},
       {}},
      {"mta_sts/mx_not_covered",
       "An MX host is not covered by the MTA-STS policy",
       {"An MX host was added (a backup MX, a new provider) without adding it to the policy: in enforce mode, "
        "senders refuse to deliver to it.",
        "A `*.` pattern covers one label only: `*.example.com` does not cover `a.b.example.com`."},
       {"Compare `dig MX {domain} +short` with the `mx:` lines of the policy.",
        "Add the `mx:` line the finding names, then change the id of `_mta-sts.{domain}`."},
       {},
       {}},
      {"mta_sts/mx_invalid",
       "An MX host fails MTA-STS validation",
       {"The MX host does not offer STARTTLS, or its certificate is not valid for the MX name (PKIX; DANE does "
        "not count here): in enforce mode, senders do not deliver to it."},
       {"Check: `openssl s_client -starttls smtp -connect MXHOST:25 -servername MXHOST -verify_hostname MXHOST "
        "</dev/null`.",
        "Give the MX host a certificate from a public CA that names the MX host name."},
       {},
       {}},
      {"mta_sts/stale_id",
       "The MTA-STS policy changed without a new id",
       {"The policy file was edited but the id of `_mta-sts.{domain}` was not: senders that cached the old policy "
        "keep it for up to its max_age."},
       {"Change the id: `_mta-sts.{domain}. TXT \"v=STSv1; id=NEWID\"` (e.g. the date and time of the change)."},
       {},
       {}},
      {"mta_sts/policy_cert_expiring",
       "The MTA-STS policy host's certificate expires soon",
       {"The renewal of `mta-sts.{domain}`'s certificate failed or is not automated; once it expires senders "
        "stop refreshing the policy."},
       {"Check the renewal (certbot renew --dry-run) for `mta-sts.{domain}`."},
       {},
       {}},
      {"mta_sts/tlsrpt_invalid",
       "The TLS-RPT record is missing or malformed",
       {"No `_smtp._tls` TXT record, more than one, or a `rua=` that is not `mailto:` or `https:` URIs (RFC 8460 "
        "§3): senders cannot report failed TLS deliveries."},
       {"Look: `dig TXT _smtp._tls.{domain} +short`.",
        "Publish `_smtp._tls.{domain}. TXT \"v=TLSRPTv1; rua=mailto:tls-reports@{domain}\"`."},
       {},
       {}},
  };
  return entries;
}

}  // namespace smtp_exporter::probes
