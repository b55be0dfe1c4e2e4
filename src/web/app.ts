/**
 * The page's script: pick, drop or record audio, send it to `POST /predict_emotion` or run the same model in
 * the page (WebGL, else wasm; the converted model fetched from the server once and kept in the Cache API),
 * then show the top emotion, a bar per score, the quality warnings and the timeline, and offer result.json and
 * embedding.npy. Both modes build the same result record (src/results/record.ts).
 */
import './style.css';
import { extensionForMimeType } from '../audio/formats.js';
import { Emotion2Vec } from '../browser.js';
import { encodeNpy } from '../io/npy.js';
import { outputKey } from '../results/output-key.js';
import { labelNames, toInlineRecord, type ErrorRecord, type ResultRecord } from '../results/record.js';
import { emojiFor } from './emoji.js';
import { renderTimeline } from './timeline.js';

type Mode = 'server' | 'page';
type PageResult = ResultRecord;

interface Health {
  model: string;
  backend: string;
  pageModel: { url: string; fingerprint: string } | null;
}

const CACHE_PREFIX = 'emotion2vec-model-';

function element<T extends HTMLElement = HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

const state: { health: Health | null; model: Promise<Emotion2Vec> | null; last: PageResult | null; busy: boolean } = {
  health: null,
  model: null,
  last: null,
  busy: false,
};

function setStatus(text: string, kind: 'info' | 'error' = 'info'): void {
  const status = element('status');
  status.textContent = text;
  status.dataset.kind = kind;
}

function selectedMode(): Mode {
  return (document.querySelector<HTMLInputElement>('input[name="mode"]:checked')?.value as Mode) ?? 'server';
}

/**
 * fetch for the model's files that answers from the Cache API when it can: the weights cross the network once
 * per model (the cache is named by the model's fingerprint, so a new model never mixes with old shards).
 */
function cachedFetch(cacheName: string): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!('caches' in globalThis)) return fetch(input, init);
    const cache = await caches.open(cacheName);
    const hit = await cache.match(url);
    if (hit) return hit;
    const response = await fetch(input, init);
    if (response.ok) await cache.put(url, response.clone());
    return response;
  };
}

/** Drops caches of models this server no longer serves. */
async function forgetOtherModels(keep: string): Promise<void> {
  if (!('caches' in globalThis)) return;
  for (const name of await caches.keys()) if (name.startsWith(CACHE_PREFIX) && name !== keep) await caches.delete(name);
}

/** The in-page model, loaded on first use: WebGL when the browser has it, else wasm. */
function pageModel(): Promise<Emotion2Vec> {
  state.model ??= (async () => {
    const info = state.health?.pageModel;
    if (!info) throw new Error('This server does not offer its model to the page (it was started without one).');
    const cacheName = `${CACHE_PREFIX}${info.fingerprint}`;
    await forgetOtherModels(cacheName);
    await import('@tensorflow/tfjs-backend-webgl');
    return Emotion2Vec.load(new URL(info.url, location.href).href, {
      backend: 'auto',
      wasmPaths: '/wasm/',
      fetch: cachedFetch(cacheName),
    });
  })();
  state.model.catch(() => (state.model = null));
  return state.model;
}

async function predictOnServer(file: File): Promise<PageResult> {
  const form = new FormData();
  form.append('audio', file, file.name);
  form.append('embedding', 'true');
  const response = await fetch('/predict_emotion', { method: 'POST', body: form });
  const body = (await response.json()) as PageResult | ErrorRecord;
  if ('error' in body) throw new Error(`${body.error.code}: ${body.error.message}`);
  return body;
}

async function predictInPage(file: File): Promise<PageResult> {
  const model = await pageModel();
  const prediction = await model.predict(file, { embedding: true });
  const key = outputKey(file.name);
  return toInlineRecord(prediction, {
    input: file.name,
    key,
    model: state.health?.model ?? 'page',
    granularity: 'utterance',
  });
}

function renderResult(result: PageResult, mode: Mode, backend: string): void {
  element('result-panel').hidden = false;
  element('top-emoji').textContent = emojiFor(result.emotion);
  element('top-name').textContent = result.emotion
    ? `${result.emotion_zh ?? ''} ${result.emotion}`.trim()
    : 'no labels (embedding-only model)';
  element('top-confidence').textContent =
    result.confidence === null ? '' : `${(result.confidence * 100).toFixed(1)}% confidence`;

  const bars = element('score-bars');
  bars.replaceChildren(
    ...result.labels.map((names) => {
      const score = { ...names, score: result.scores[names.name]! };
      const item = document.createElement('li');
      item.dataset.label = score.label;
      item.dataset.score = String(score.score);
      if (score.name === result.emotion) item.classList.add('top');
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = `${emojiFor(score.en)} ${score.zh ?? ''} ${score.en}`;
      const bar = document.createElement('span');
      bar.className = 'bar';
      const fill = document.createElement('span');
      fill.style.width = `${(score.score * 100).toFixed(2)}%`;
      bar.append(fill);
      const value = document.createElement('span');
      value.className = 'value';
      value.textContent = `${(score.score * 100).toFixed(1)}%`;
      item.append(name, bar, value);
      return item;
    }),
  );

  const warnings = element('warnings');
  warnings.replaceChildren(
    ...result.quality.warnings.map((warning) => {
      const item = document.createElement('li');
      item.textContent = `⚠ ${warning.message}`;
      item.dataset.code = warning.code;
      return item;
    }),
  );
  renderTimeline(element('timeline'), result);
  element('download-npy').toggleAttribute('disabled', !result.embedding?.data);
  element('result-meta').textContent =
    `${result.input} · ${result.duration.toFixed(2)} s · ${mode === 'server' ? `server (${state.health?.backend ?? '?'})` : `this page (${backend})`} · ${result.model}`;
}

async function analyse(file: File): Promise<void> {
  if (state.busy) return;
  state.busy = true;
  const mode = selectedMode();
  document.body.dataset.state = 'working';
  element('file-name').textContent = file.name;
  setStatus(mode === 'server' ? 'Analysing on the server…' : 'Loading the model into this page (once) and analysing…');
  try {
    const result = mode === 'server' ? await predictOnServer(file) : await predictInPage(file);
    const backend = mode === 'page' ? (await pageModel()).backend : '';
    state.last = result;
    renderResult(result, mode, backend);
    document.body.dataset.mode = mode;
    document.body.dataset.state = 'done';
    setStatus('');
  } catch (error) {
    document.body.dataset.state = 'error';
    setStatus(error instanceof Error ? error.message : String(error), 'error');
  } finally {
    state.busy = false;
  }
}

function download(name: string, bytes: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Records from the microphone until the button is pressed again, then analyses the recording. */
function setUpRecorder(): void {
  const button = element<HTMLButtonElement>('record-button');
  let recorder: MediaRecorder | null = null;
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined') {
    button.disabled = true;
    button.title = 'This browser cannot record here (recording needs https or localhost).';
    return;
  }
  button.addEventListener('click', async () => {
    if (recorder) {
      recorder.stop();
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const chunks: Blob[] = [];
      recorder = new MediaRecorder(stream);
      recorder.addEventListener('dataavailable', (event) => chunks.push(event.data));
      recorder.addEventListener('stop', () => {
        stream.getTracks().forEach((track) => track.stop());
        const type = recorder?.mimeType || 'audio/webm';
        recorder = null;
        button.textContent = '● Record from the microphone';
        void analyse(new File(chunks, `recording${extensionForMimeType(type) ?? '.webm'}`, { type }));
      });
      recorder.start();
      button.textContent = '■ Stop and analyse';
    } catch (error) {
      setStatus(`Cannot use the microphone: ${error instanceof Error ? error.message : String(error)}`, 'error');
    }
  });
}

/**
 * Live mode: the microphone's MediaStream goes to the in-page model's `stream()` (the library's one live path,
 * docs/long-audio.md), and each finished speech segment is listed as it comes: time, emoji, label, score.
 */
function setUpLive(): void {
  const button = element<HTMLButtonElement>('live-button');
  const list = element<HTMLOListElement>('live-segments');
  const idle = button.textContent!;
  let session: { stop(): Promise<void> } | null = null;
  if (!navigator.mediaDevices?.getUserMedia || typeof AudioContext === 'undefined') {
    button.disabled = true;
    button.title = 'This browser cannot listen here (the microphone needs https or localhost).';
    return;
  }
  button.addEventListener('click', async () => {
    if (session) {
      const current = session;
      session = null;
      button.textContent = idle;
      await current.stop();
      document.body.dataset.live = 'stopped';
      return;
    }
    try {
      button.disabled = true;
      setStatus('Loading the model into this page (once)…');
      const model = await pageModel();
      const microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
      list.replaceChildren();
      list.hidden = false;
      const live = model.stream({
        mediaStream: microphone,
        onSegment: (segment) => {
          const names = segment.top ? labelNames(segment.top.label) : null;
          const item = document.createElement('li');
          item.textContent = `${segment.start.toFixed(1)}–${segment.end.toFixed(1)} s ${emojiFor(names?.en ?? null)} ${names ? `${names.en}${names.zh ? ` ${names.zh}` : ''} ${(segment.top!.score * 100).toFixed(0)} %` : '(no labels)'}`;
          list.append(item);
          item.scrollIntoView({ block: 'nearest' });
        },
        onError: (error) =>
          setStatus(`Live analysis failed: ${error instanceof Error ? error.message : String(error)}`, 'error'),
      });
      // How much the model has heard so far: a live session that hears nothing says so.
      const ticker = setInterval(
        () =>
          setStatus(`Listening (${live.receivedSeconds.toFixed(0)} s heard): each finished sentence appears below.`),
        1000,
      );
      session = {
        // The microphone stops at once; audio already heard is still analysed (a slow backend may be behind), and
        // the last sentence is listed when it is done.
        stop: async () => {
          clearInterval(ticker);
          microphone.getTracks().forEach((track) => track.stop());
          setStatus('Stopped listening; finishing the last sentence…');
          void live.end().then(
            () => setStatus(''),
            (error: unknown) =>
              setStatus(`Live analysis failed: ${error instanceof Error ? error.message : String(error)}`, 'error'),
          );
        },
      };
      button.textContent = '■ Stop listening';
      document.body.dataset.live = 'listening';
      setStatus('Listening: each finished sentence appears below.');
    } catch (error) {
      setStatus(`Cannot listen live: ${error instanceof Error ? error.message : String(error)}`, 'error');
    } finally {
      button.disabled = false;
    }
  });
}

function setUpInputs(): void {
  const input = element<HTMLInputElement>('file-input');
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    // Cleared so that picking the same file again (e.g. in the other mode) fires 'change' again.
    input.value = '';
    if (file) void analyse(file);
  });
  const zone = element('drop-zone');
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    const file = event.dataTransfer?.files[0];
    if (file) void analyse(file);
  });
  element('download-json').addEventListener('click', () => {
    if (state.last)
      download(
        `${state.last.key || 'result'}.result.json`,
        `${JSON.stringify(state.last, null, 2)}\n`,
        'application/json',
      );
  });
  element('download-npy').addEventListener('click', () => {
    const embedding = state.last?.embedding;
    if (embedding?.data)
      download(
        `${state.last!.key || 'result'}.embedding.npy`,
        encodeNpy(Float32Array.from(embedding.data), embedding.shape) as Uint8Array<ArrayBuffer>,
        'application/octet-stream',
      );
  });
}

async function start(): Promise<void> {
  setUpInputs();
  setUpRecorder();
  setUpLive();
  try {
    const response = await fetch('/health');
    state.health = (await response.json()) as Health;
    element('model-info').textContent = `Model ${state.health.model} · server backend ${state.health.backend}`;
    if (!state.health.pageModel) {
      const pageOption = document.querySelector<HTMLInputElement>('input[name="mode"][value="page"]')!;
      pageOption.disabled = true;
      pageOption.parentElement!.title = 'The server was started without model files for the page.';
      const live = element<HTMLButtonElement>('live-button');
      live.disabled = true;
      live.title = 'Live mode runs the model in this page; the server was started without model files for it.';
    }
    document.body.dataset.state = 'ready';
  } catch (error) {
    setStatus(`The server does not answer: ${error instanceof Error ? error.message : String(error)}`, 'error');
    document.body.dataset.state = 'error';
  }
}

void start();
