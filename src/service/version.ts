// Foreman's version, for `foreman --version`, the check runs' footers and SARIF: package.json's,
// read through an import so that the Action's bundle carries it (dist/ has no package.json of ours).
import manifest from '../../package.json' with { type: 'json' };

export const FOREMAN_VERSION: string = manifest.version;
