import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, isLoopbackHost, loadConfig } from '../../src/config.js';

const CWD = '/srv/app';
const load = (env: Record<string, string> = {}) => loadConfig(env, CWD);

function rejects(env: Record<string, string>, variable: string, shown?: string): ConfigError {
  let caught: unknown;
  try {
    load(env);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const e = caught as ConfigError;
  expect(e.code).toBe('CONFIG_ERROR');
  expect(e.variable).toBe(variable);
  expect(e.message).toContain(variable);
  if (shown !== undefined) expect(e.message).toContain(shown);
  return e;
}

describe('loadConfig defaults (docs/behaviour.md §6.1)', () => {
  const c = load();
  it('has every default', () => {
    expect(c.port).toBe(3000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.hostIsLoopback).toBe(true);
    expect(c.serverUrl).toBe('http://127.0.0.1:3000');
    expect(c.dataDir).toBe(path.join(os.homedir(), '.maestro/data'));
    expect(c.sessionDir).toBe(path.join(os.homedir(), '.maestro/sessions'));
    expect(c.skillsDir).toBe(path.join(os.homedir(), '.agents-ui/maestro-skills'));
    expect(c.databaseType).toBe('filesystem');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.manifestGenerator).toBe('server');
    expect(c.maestroCliPath).toBe('maestro');
    expect(c.apiToken).toBeUndefined();
    expect(c.allowUnauthenticated).toBe(false);
    expect(c.maxBodyBytes).toBe(1_048_576);
    expect(c.cors).toEqual({ enabled: true, origins: null, credentials: false });
    expect(c.logLevel).toBe('info');
    expect(c.logFormat).toBe('pretty');
    expect(c.logFile).toBeUndefined();
    expect(c.debug).toBe(false);
    expect(c.nodeEnv).toBe('development');
    expect(c.warnings).toEqual([]);
  });

  it('treats an empty value as unset', () => {
    expect(load({ PORT: '', HOST: '', MAESTRO_API_TOKEN: '' })).toMatchObject({ port: 3000, host: '127.0.0.1', apiToken: undefined });
  });
});

describe('loadConfig values and rules', () => {
  it('reads valid values', () => {
    const c = load({
      PORT: '8080',
      MANIFEST_GENERATOR: 'cli',
      MAESTRO_CLI_PATH: '/usr/local/bin/maestro',
      MAESTRO_MAX_BODY_BYTES: '1024',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
      NODE_ENV: 'production',
      DEBUG: 'true',
      DATABASE_URL: 'postgres://x',
      MAESTRO_API_TOKEN: 's3cret',
    });
    expect(c).toMatchObject({
      port: 8080,
      manifestGenerator: 'cli',
      maestroCliPath: '/usr/local/bin/maestro',
      maxBodyBytes: 1024,
      logLevel: 'debug',
      logFormat: 'json',
      nodeEnv: 'production',
      debug: true,
      databaseUrl: 'postgres://x',
      apiToken: 's3cret',
    });
    expect(load({ PORT: '1' }).port).toBe(1);
    expect(load({ PORT: '65535' }).port).toBe(65535);
    expect(load({ MAESTRO_MAX_BODY_BYTES: '104857600' }).maxBodyBytes).toBe(104_857_600);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '0'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['PORT', '-1'],
    ['PORT', ' 80'],
    ['MAESTRO_MAX_BODY_BYTES', '1023'],
    ['MAESTRO_MAX_BODY_BYTES', '104857601'],
    ['MAESTRO_MAX_BODY_BYTES', '1e6'],
    ['MANIFEST_GENERATOR', 'remote'],
    ['LOG_LEVEL', 'trace'],
    ['LOG_LEVEL', 'INFO'],
    ['LOG_FORMAT', 'text'],
    ['NODE_ENV', 'staging'],
    ['DATABASE_TYPE', 'sqlite'],
    ['SERVER_URL', 'not a url'],
    ['SERVER_URL', 'ftp://example.com'],
    ['SERVER_URL', '/relative'],
    ['HOST', 'two words'],
  ])('rejects %s=%j naming the variable and the value', (name, value) => {
    rejects({ [name]: value }, name, value);
  });

  it('refuses DATABASE_TYPE=postgres', () => {
    const e = rejects({ DATABASE_TYPE: 'postgres' }, 'DATABASE_TYPE');
    expect(e.message).toBe('DATABASE_TYPE=postgres is not supported yet');
  });

  it('rejects a token that can never match, without printing it', () => {
    const e = rejects({ MAESTRO_API_TOKEN: ' padded-secret ' }, 'MAESTRO_API_TOKEN');
    expect(e.message).not.toContain('padded-secret');
  });

  it('expands ~ and resolves relative directories against the working directory', () => {
    const c = load({ DATA_DIR: '~', SESSION_DIR: 'rel/sessions', SKILLS_DIR: '~/skills', LOG_FILE: 'logs/server.log' });
    expect(c.dataDir).toBe(os.homedir());
    expect(c.sessionDir).toBe(path.resolve(CWD, 'rel/sessions'));
    expect(c.skillsDir).toBe(path.join(os.homedir(), 'skills'));
    expect(c.logFile).toBe(path.resolve(CWD, 'logs/server.log'));
    expect(load({ DATA_DIR: '/abs/data' }).dataDir).toBe('/abs/data');
    expect(load({ DATA_DIR: '~other/x' }).dataDir).toBe(path.resolve(CWD, '~other/x'));
  });

  it('compares booleans as exact strings', () => {
    expect(load({ CORS_ENABLED: 'false' }).cors.enabled).toBe(false);
    expect(load({ CORS_ENABLED: 'FALSE' }).cors.enabled).toBe(true);
    expect(load({ CORS_ENABLED: '0' }).cors.enabled).toBe(true);
    expect(load({ CORS_CREDENTIALS: 'true' }).cors.credentials).toBe(true);
    expect(load({ CORS_CREDENTIALS: 'True' }).cors.credentials).toBe(false);
    expect(load({ DEBUG: 'true' }).debug).toBe(true);
    expect(load({ DEBUG: '1' }).debug).toBe(false);
    expect(load({ DEBUG: '1' }).warnings.join()).toContain('DEBUG');
    expect(load({ HOST: '0.0.0.0', MAESTRO_ALLOW_UNAUTHENTICATED: 'yes', MAESTRO_API_TOKEN: 't' }).allowUnauthenticated).toBe(false);
  });

  it('parses CORS_ORIGINS: trimmed, empty entries dropped, * kept', () => {
    expect(load({ CORS_ORIGINS: ' http://a.test , ,https://b.test,' }).cors.origins).toEqual(['http://a.test', 'https://b.test']);
    expect(load({ CORS_ORIGINS: '*' }).cors.origins).toEqual(['*']);
    expect(load({ CORS_ORIGINS: ' , ' }).cors.origins).toBeNull();
  });
});

describe('SERVER_URL (docs/behaviour.md §6.1)', () => {
  it.each([
    [{}, 'http://127.0.0.1:3000'],
    [{ PORT: '4000' }, 'http://127.0.0.1:4000'],
    [{ HOST: 'localhost' }, 'http://localhost:3000'],
    [{ HOST: '::1' }, 'http://[::1]:3000'],
    [{ HOST: '[::1]' }, 'http://[::1]:3000'],
    [{ HOST: '0.0.0.0', MAESTRO_API_TOKEN: 't', PORT: '81' }, 'http://localhost:81'],
    [{ HOST: '::', MAESTRO_API_TOKEN: 't' }, 'http://localhost:3000'],
    [{ HOST: 'fd00::5', MAESTRO_API_TOKEN: 't' }, 'http://[fd00::5]:3000'],
    [{ HOST: '192.168.1.5', MAESTRO_API_TOKEN: 't' }, 'http://192.168.1.5:3000'],
    [{ SERVER_URL: 'https://maestro.example.com/' }, 'https://maestro.example.com'],
    [{ SERVER_URL: 'http://proxy:8080/maestro//' }, 'http://proxy:8080/maestro'],
    [{ SERVER_URL: 'http://127.0.0.1:9999' }, 'http://127.0.0.1:9999'],
  ])('%j → %s', (env, url) => {
    expect(load(env as Record<string, string>).serverUrl).toBe(url);
  });
});

describe('non-loopback bind rule (docs/behaviour.md §6.2)', () => {
  it.each(['localhost', 'LocalHost', '127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '[::1]'])(
    '%s is loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
      expect(load({ HOST: host }).hostIsLoopback).toBe(true);
    },
  );

  it.each(['0.0.0.0', '::', '192.168.0.10', '10.0.0.1', '::ffff:10.0.0.1', 'example.com', '128.0.0.1'])(
    '%s is not loopback and needs a token or the opt-out',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
      const e = rejects({ HOST: host }, 'HOST');
      expect(e.message).toContain('requires MAESTRO_API_TOKEN or MAESTRO_ALLOW_UNAUTHENTICATED=true');
      expect(load({ HOST: host, MAESTRO_API_TOKEN: 'tok' }).hostIsLoopback).toBe(false);
      const open = load({ HOST: host, MAESTRO_ALLOW_UNAUTHENTICATED: 'true' });
      expect(open.allowUnauthenticated).toBe(true);
      expect(open.warnings.join()).toContain('not a loopback address');
    },
  );

  it('MAESTRO_ALLOW_UNAUTHENTICATED needs the exact string true', () => {
    rejects({ HOST: '0.0.0.0', MAESTRO_ALLOW_UNAUTHENTICATED: 'TRUE' }, 'HOST');
    rejects({ HOST: '0.0.0.0', MAESTRO_ALLOW_UNAUTHENTICATED: '1' }, 'HOST');
  });
});
