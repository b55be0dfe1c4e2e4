/** Loading models from folders, files, URLs and memory; checkpoint/config mismatches; converted models. */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, ConfigError, Emotion2Vec } from '../../src/node.js';
import { readModelContents } from '../../src/model/sources.js';
import { writeConvertedModel } from '../../src/model/converted.js';
import { writeSafetensors } from '../../src/model/checkpoint/safetensors.js';
import { Emotion2VecNetwork } from '../../src/model/network.js';
import { useBackend } from '../support/backend.js';
import { fixturePath, loadNpy, manifestInputs, maxAbsDiff, syntheticWeights } from '../support/fixtures.js';

const chirp = () => loadNpy('tiny', 'chirp16k.wave16k').data;
const tinyFile = (name: string) => readFileSync(fixturePath('tiny', name));

/** Writes a converted copy of the tiny checkpoint into a temp folder. */
async function convertTiny(dir: string): Promise<void> {
  const contents = await readModelContents(fixturePath('tiny'));
  const network = new Emotion2VecNetwork(contents.definition);
  await writeConvertedModel(
    {
      definition: contents.definition,
      modelConf: contents.modelConf,
      weights: contents.weights,
      parameters: network.params.specs(),
      sourceFile: 'model.pt',
    },
    async (name, bytes) => writeFileSync(join(dir, name), bytes),
  );
}

describe('model sources', () => {
  let reference: number[];
  let converted: string;
  let server: Server;
  let baseUrl: string;
  let requests: string[] = [];

  beforeAll(async () => {
    await useBackend('wasm');
    const model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
    reference = (await model.predict(chirp())).scores;
    model.dispose();
    // The reference every source is held to is upstream's own result (then each source must match it to 1e-6).
    const upstream = manifestInputs('tiny').find((input) => input.id === 'chirp16k')!.scores;
    expect(maxAbsDiff(reference, upstream)).toBeLessThanOrEqual(1e-4);
    converted = mkdtempSync(join(tmpdir(), 'e2v-converted-'));
    await convertTiny(converted);
    // A static file server on loopback: /tiny/* is the checkpoint folder, /converted/* the converted one.
    server = createServer((request, response) => {
      requests.push(request.url!);
      const [, folder, file] = request.url!.split('/');
      // /bucket/* is the checkpoint folder behind an S3-style host that answers 403 for missing keys; /private/*
      // refuses all.
      const dir =
        folder === 'tiny' || folder === 'bucket' ? fixturePath('tiny') : folder === 'converted' ? converted : null;
      try {
        if (!dir || !file) throw new Error('no');
        const body = readFileSync(join(dir, file));
        response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
      } catch {
        if (folder === 'bucket' || folder === 'private')
          response.writeHead(403).end('<Error><Code>AccessDenied</Code></Error>');
        else response.writeHead(404).end('not found');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => {
    server.close();
    rmSync(converted, { recursive: true, force: true });
  });

  const expectSameScores = async (model: Emotion2Vec) => {
    expect(maxAbsDiff((await model.predict(chirp())).scores, reference)).toBeLessThan(1e-6);
    model.dispose();
  };

  it('a converted folder: model.json plus float32 shards, same numbers as the checkpoint', async () => {
    expect(readdirSync(converted).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    const manifest = JSON.parse(readFileSync(join(converted, 'model.json'), 'utf8'));
    expect(manifest.format).toBe('emotion2vec-tfjs');
    expect(manifest.weightsManifest[0].weights.some((w: { name: string }) => w.name.includes('decoder'))).toBe(false);
    const model = await Emotion2Vec.load(converted, { backend: 'wasm' });
    expect(model.loadReport.layout).toBe('converted');
    await expectSameScores(model);
  });

  it('a checkpoint folder over HTTP', async () => {
    requests = [];
    await expectSameScores(await Emotion2Vec.load(`${baseUrl}/tiny/`, { backend: 'wasm' }));
    expect(requests).toContain('/tiny/model.pt');
  });

  it('a checkpoint folder on a host that answers 403 for missing files; a refused model says what the server answered', async () => {
    await expectSameScores(await Emotion2Vec.load(`${baseUrl}/bucket/`, { backend: 'wasm' }));
    await expect(Emotion2Vec.load(`${baseUrl}/private/`, { backend: 'wasm' })).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: expect.stringMatching(/config\.yaml not found .*HTTP 403/),
    });
  });

  it('a converted folder over HTTP, and a direct URL to its model.json', async () => {
    await expectSameScores(await Emotion2Vec.load(`${baseUrl}/converted`, { backend: 'wasm' }));
    await expectSameScores(await Emotion2Vec.load(`${baseUrl}/converted/model.json`, { backend: 'wasm' }));
  });

  it('a checkpoint folder over HTTP asks only for files it has: config.yaml, tokens.txt, model.pt (no 404 probes)', async () => {
    requests = [];
    await expectSameScores(await Emotion2Vec.load(`${baseUrl}/tiny/`, { backend: 'wasm' }));
    expect(requests).toEqual(['/tiny/config.yaml', '/tiny/tokens.txt', '/tiny/model.pt']);
  });

  it('a converted folder over HTTP costs one probe (config.yaml); a URL naming model.json none', async () => {
    requests = [];
    await expectSameScores(await Emotion2Vec.load(`${baseUrl}/converted/`, { backend: 'wasm' }));
    expect(requests).toEqual(['/converted/config.yaml', '/converted/model.json', '/converted/group1-shard1of1.bin']);
    requests = [];
    await expectSameScores(await Emotion2Vec.load(`${baseUrl}/converted/model.json`, { backend: 'wasm' }));
    expect(requests).toEqual(['/converted/model.json', '/converted/group1-shard1of1.bin']);
  });

  it("file: URLs, as a string or a URL object such as new URL('./model/', import.meta.url), are local folders", async () => {
    const folderUrl = new URL('../fixtures/tiny/', import.meta.url);
    expect(folderUrl.protocol).toBe('file:');
    await expectSameScores(await Emotion2Vec.load(folderUrl, { backend: 'wasm' }));
    await expectSameScores(await Emotion2Vec.load(folderUrl.href, { backend: 'wasm' }));
    await expectSameScores(
      await Emotion2Vec.load(new URL('model.json', pathToFileURL(`${converted}/`)), { backend: 'wasm' }),
    );
    await expect(Emotion2Vec.load(new URL('file:///no/such/model/'), { backend: 'wasm' })).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
  });

  it('in-memory files, e.g. from a file picker', async () => {
    await expectSameScores(
      await Emotion2Vec.load(
        {
          'config.yaml': tinyFile('config.yaml'),
          'tokens.txt': tinyFile('tokens.txt').toString('utf8'),
          'model.pt': new Blob([tinyFile('model.pt')]),
        },
        { backend: 'wasm' },
      ),
    );
  });

  it('says what is missing, and where', async () => {
    await expect(Emotion2Vec.load(`${baseUrl}/nothing/`, { backend: 'wasm' })).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: expect.stringContaining('config.yaml not found'),
    });
    await expect(Emotion2Vec.load('/no/such/folder', { backend: 'wasm' })).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
    await expect(
      Emotion2Vec.load({ 'config.yaml': tinyFile('config.yaml') }, { backend: 'wasm' }),
    ).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('no weights found') });
    await expect(
      Emotion2Vec.load(
        { 'config.yaml': 'model_conf: {embed_dim: 64}', 'model.pt': tinyFile('model.pt') },
        { backend: 'wasm' },
      ),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it('a model file that cannot be read (here a folder named config.yaml): a typed error naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'e2v-unreadable-'));
    try {
      for (const name of ['model.pt', 'tokens.txt']) writeFileSync(join(dir, name), tinyFile(name));
      mkdirSync(join(dir, 'config.yaml'));
      const error = await Emotion2Vec.load(dir, { backend: 'wasm' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error).toMatchObject({
        code: 'MODEL_NOT_FOUND',
        message: expect.stringContaining(`Could not read config.yaml in ${dir}`),
        details: { code: 'EISDIR' },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists every missing and mis-shaped tensor in one error, and leaks nothing', async () => {
    const tensors = [...syntheticWeights('tiny')]
      .filter(([name]) => !['blocks.1.mlp.fc2.bias', 'modality_encoders.AUDIO.extra_tokens'].includes(name))
      .map(([name, entry]) =>
        name === 'proj.weight'
          ? { name, shape: [9, 32], data: entry.read().subarray(0, 9 * 32) }
          : { name, shape: [...entry.shape], data: entry.read() },
      );
    const before = tf.memory().numTensors;
    const error = await Emotion2Vec.load(
      {
        'config.yaml': tinyFile('config.yaml'),
        'tokens.txt': tinyFile('tokens.txt'),
        'model.safetensors': writeSafetensors(tensors),
      },
      { backend: 'wasm' },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.code).toBe('CHECKPOINT_TENSORS');
    expect(error.message).toContain('missing (2)');
    expect(error.message).toContain('blocks.1.mlp.fc2.bias');
    expect(error.message).toContain('modality_encoders.AUDIO.extra_tokens');
    expect(error.message).toContain('proj.weight: expected [9, 64], found [9, 32]');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a model.json that is not ours', async () => {
    await expect(
      Emotion2Vec.load({ 'model.json': JSON.stringify({ format: 'layers-model' }) }, { backend: 'wasm' }),
    ).rejects.toMatchObject({ code: 'CHECKPOINT_FORMAT' });
  });
});
