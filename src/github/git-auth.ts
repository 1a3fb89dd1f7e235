// A GitHub token for git over HTTPS, kept out of argument lists (visible to every local user in
// ps), URLs and error messages. Shared by cloning and pushing.

/**
 * Config that makes git send the token as an HTTP header, for the runner's `config` option
 * (git.ts), which passes it through the environment, never argv. Keyed on the remote URL: a
 * more specific key wins over a header left for https://github.com/ (actions/checkout's
 * persisted credentials), and the empty value first clears that one so only ours is sent.
 */
export function gitAuthConfig(remoteUrl: string, token: string): Array<[string, string]> {
  const key = /^https?:\/\//i.test(remoteUrl) ? `http.${remoteUrl}.extraheader` : 'http.extraheader';
  const header = `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  return [
    [key, ''],
    [key, header],
  ];
}

/** `text` without the token in any form git or GitHub could print it in. */
export function scrubToken(text: string, token: string | undefined): string {
  let clean = text.replace(/(authorization:\s*\w+\s+)\S+/gi, '$1***').replace(/(\/\/)[^/@\s]+@/g, '$1***@');
  if (token) {
    for (const secret of [token, Buffer.from(`x-access-token:${token}`).toString('base64')]) clean = clean.split(secret).join('***');
  }
  return clean;
}
