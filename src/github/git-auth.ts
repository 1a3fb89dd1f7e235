// A GitHub token for git over HTTPS, kept out of argument lists (visible to every local user in
// ps), URLs and error messages. Shared by cloning and pushing.

/**
 * Environment that makes git send the token as an HTTP header. Keyed on the remote URL: a more
 * specific key wins over the header actions/checkout leaves for https://github.com/, and the
 * empty value first clears that one so only ours is sent. Config the caller already passes
 * through GIT_CONFIG_* is kept.
 */
export function gitAuthEnv(remoteUrl: string, token: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const key = /^https?:\/\//i.test(remoteUrl) ? `http.${remoteUrl}.extraheader` : 'http.extraheader';
  const header = `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  const first = Number(env.GIT_CONFIG_COUNT) || 0;
  return {
    GIT_CONFIG_COUNT: String(first + 2),
    [`GIT_CONFIG_KEY_${first}`]: key,
    [`GIT_CONFIG_VALUE_${first}`]: '',
    [`GIT_CONFIG_KEY_${first + 1}`]: key,
    [`GIT_CONFIG_VALUE_${first + 1}`]: header,
  };
}

/** `text` without the token in any form git or GitHub could print it in. */
export function scrubToken(text: string, token: string | undefined): string {
  let clean = text.replace(/(authorization:\s*\w+\s+)\S+/gi, '$1***').replace(/(\/\/)[^/@\s]+@/g, '$1***@');
  if (token) {
    for (const secret of [token, Buffer.from(`x-access-token:${token}`).toString('base64')]) clean = clean.split(secret).join('***');
  }
  return clean;
}
