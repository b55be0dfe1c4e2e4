/**
 * The page's script, the Emotion2Vec+ Large WebUI's controls on this project's server: load a file (pick, drop,
 * record, or the bundled example), choose utterance or frame granularity and whether to extract the embedding, and
 * start; the model runs on the server (`POST /predict_emotion`) or in the page itself (the same model in a Web Worker,
 * on the backend chosen: WebGPU, WebGL or wasm). The result shows as the WebUI shows it, with every score, the emotion curve (frame mode), the timeline
 * (files over 30 s), the processing log and the downloads. Both modes build the same result record
 * (src/results/record.ts).
 *
 * A file runs when "Start" is pressed, as in the WebUI: the options are chosen after the file, a long file never
 * starts by accident, and the same file runs again with other options in one click. The example and a finished
 * recording start at once, since their whole point is to see a result.
 */
import './style.css';
import exampleAudio from './assets/example.ogg';
import { decodeAudio } from '../audio/decode.js';
import { extensionForMimeType } from '../audio/formats.js';
import type { AudioInput } from '../audio/prepare.js';
import type { BackendChoice } from '../backend/select.js';
import { isEmotion2VecError } from '../errors.js';
import { encodeNpy } from '../io/npy.js';
import { DEFAULT_MAX_FULL_PASS_SECONDS, type Granularity } from '../model/emotion2vec.js';
import { outputKey } from '../results/output-key.js';
import { labelNames, toInlineRecord, type ErrorRecord, type ResultRecord } from '../results/record.js';
import { frameSeriesSpans, frameSeriesToCsv, type FrameSeries } from '../results/frame-series.js';
import { timelineToCsv } from '../results/timeline.js';
import { probeDuration } from './audio-file.js';
import { InPageModel, PAGE_BACKENDS, type PageBackend, type PageModelInfo } from './in-page-model.js';
import { formatBytes, ProcessingLog } from './processing-log.js';
import { ProgressView, SpeedMemory } from './progress.js';
import { clearResult, faceElement, showResult, type ShownResult } from './result-view.js';
import { postForm } from './upload.js';

type Mode = 'server' | 'page';

interface Health {
  readonly model: string;
  readonly backend: string;
  readonly pageModel: PageModelInfo | null;
}

/** What one run is asked to do. */
interface RunOptions {
  readonly granularity: Granularity;
  readonly embedding: boolean;
  /** Files over one full pass (30 s), or of unknown length, get a timeline of their speech segments. */
  readonly timeline: boolean;
}

/** Past this many seconds a file gets its timeline without being asked: the length the model runs in one pass. */
const TIMELINE_FROM_SECONDS = DEFAULT_MAX_FULL_PASS_SECONDS;

function element<T extends HTMLElement = HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

const state = {
  health: null as Health | null,
  inPage: new InPageModel(null),
  file: null as File | null,
  fileUrl: null as string | null,
  /** Seconds, from the media element; null when the browser cannot tell. */
  duration: null as number | null,
  shown: null as ShownResult | null,
  busy: false,
  /** Listening live: the page's model is in use until the session stops. */
  live: false,
};
const speeds = new SpeedMemory();
const log = new ProcessingLog(element<HTMLOListElement>('log'));
const progress = new ProgressView(
  element('progress'),
  element<HTMLProgressElement>('progress-bar'),
  element('progress-text'),
);

function setStatus(text: string, kind: 'info' | 'error' = 'info'): void {
  const status = element('status');
  status.textContent = text;
  status.dataset.kind = kind;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checked(name: string): string | undefined {
  return document.querySelector<HTMLInputElement>(`input[name="${name}"]:checked`)?.value;
}

function selectedMode(): Mode {
  return (checked('mode') as Mode | undefined) ?? 'server';
}

function selectedBackend(): PageBackend {
  const value = element<HTMLSelectElement>('backend-select').value;
  return PAGE_BACKENDS.find((backend) => backend === value) ?? 'auto';
}

/** "webgl (webgpu skipped: no adapter)": the backend the worker chose, and why it passed the ones before it over. */
function describeChoice(choice: BackendChoice): string {
  const skipped = choice.skipped.map((skip) => `${skip.backend} skipped: ${skip.reason}`).join('; ');
  return skipped ? `${choice.backend} (${skipped})` : choice.backend;
}

/** Shows beside the backend menu which backend the page's model runs on. */
function showPageBackend(choice: BackendChoice): void {
  const shown = element('page-backend');
  shown.textContent = `→ ${describeChoice(choice)}`;
  shown.dataset.backend = choice.backend;
}

/** The record's one-line summary for the log: "happy 85.3% (开心)". */
function summary(record: ResultRecord): string {
  if (!record.emotion || record.confidence === null) return 'no labels (embedding-only model)';
  return `${record.emotion} ${(record.confidence * 100).toFixed(1)}%${record.emotion_zh ? ` (${record.emotion_zh})` : ''}`;
}

function updateStartButton(): void {
  element<HTMLButtonElement>('start-button').disabled = state.busy || state.file === null;
  // Another backend means another model (and worker): not while the page's model is in use.
  element<HTMLSelectElement>('backend-select').disabled = state.busy || state.live || !state.inPage.available;
}

/** Counts file loads, so that a slow probe of an earlier file never overrides a later one. */
let loads = 0;

/**
 * Makes `file` the one to analyse: its name, size and a player at once, its duration once the browser has read it
 * (then "Start" is enabled); the old result goes.
 */
async function loadFile(file: File): Promise<void> {
  if (state.busy) {
    setStatus('Wait for the current run to finish before loading another file.', 'error');
    return;
  }
  const load = ++loads;
  clearResult();
  setStatus('');
  if (state.fileUrl) URL.revokeObjectURL(state.fileUrl);
  const url = URL.createObjectURL(file);
  Object.assign(state, { file: null, fileUrl: url, duration: null, shown: null });
  updateStartButton();
  element('file-info').hidden = false;
  element('file-name').textContent = file.name;
  element('file-facts').textContent = formatBytes(file.size);
  element<HTMLAudioElement>('preview').src = url;
  const duration = await probeDuration(url);
  if (load !== loads) return;
  Object.assign(state, { file, duration });
  element('file-facts').textContent =
    `${formatBytes(file.size)} · ${duration === null ? 'duration unknown' : `${duration.toFixed(2)} s`}`;
  updateStartButton();
  document.body.dataset.state = 'loaded';
}

/** Runs the loaded file with the chosen options, in the chosen mode, and shows the result or the error. */
async function analyse(): Promise<void> {
  const file = state.file;
  if (state.busy || !file) return;
  const duration = state.duration;
  const mode = selectedMode();
  const options: RunOptions = {
    granularity: checked('granularity') === 'frame' ? 'frame' : 'utterance',
    embedding: element<HTMLInputElement>('embedding-switch').checked,
    timeline: duration === null || duration > TIMELINE_FROM_SECONDS,
  };
  state.busy = true;
  updateStartButton();
  clearResult();
  state.shown = null;
  setStatus('');
  document.body.dataset.state = 'working';
  log.begin();
  log.add(
    '文件 file',
    `${file.name} · ${formatBytes(file.size)} · ${duration === null ? 'duration unknown' : `${duration.toFixed(2)} s`}`,
  );
  const timelineWhy = duration === null ? ' (duration unknown)' : ` (over ${TIMELINE_FROM_SECONDS} s)`;
  log.add(
    '设置 options',
    `${options.granularity} · embedding ${options.embedding ? 'on' : 'off'} · ` +
      `timeline ${options.timeline ? `on${timelineWhy}` : 'off'} · ${mode === 'server' ? 'on the server' : 'in this page'}`,
  );
  try {
    const shown =
      mode === 'server' ? await runOnServer(file, options, duration) : await runInPage(file, options, duration);
    const { record } = shown;
    const warnings = record.quality.warnings.map((warning) => warning.code).join(', ') || 'none';
    log.add('音频 audio', `${record.duration.toFixed(2)} s · ${record.frames} frames · quality warnings: ${warnings}`);
    log.add('结果 result', summary(record));
    state.shown = shown;
    showResult(shown);
    document.body.dataset.mode = mode;
    document.body.dataset.state = 'done';
  } catch (error) {
    clearResult();
    setStatus(messageOf(error), 'error');
    log.add('错误 error', messageOf(error), 'error');
    document.body.dataset.state = 'error';
  } finally {
    progress.done();
    state.busy = false;
    updateStartButton();
  }
}

/** `POST /predict_emotion` with the options as form fields, showing the upload, then the server's time. */
async function runOnServer(file: File, options: RunOptions, duration: number | null): Promise<ShownResult> {
  const form = new FormData();
  form.append('audio', file, file.name);
  form.append('granularity', options.granularity);
  form.append('embedding', String(options.embedding));
  form.append('timeline', String(options.timeline));
  // Frame mode: the whole frame series, so that the frame_scores.csv download is the file analyze writes.
  if (options.granularity === 'frame') form.append('full_frame_series', 'true');
  const speedKey = `server:${state.health?.model ?? ''}`;
  const began = performance.now();
  let sent = began;
  progress.measured('upload', '上传中 Uploading…', 0);
  const { status, body } = await postForm('/predict_emotion', form, {
    onUploadProgress: (loaded, total) =>
      progress.measured(
        'upload',
        `上传中 Uploading ${total > 0 ? Math.round((loaded / total) * 100) : 0}% (${formatBytes(loaded)} of ${formatBytes(total)})`,
        total > 0 ? loaded / total : null,
      ),
    onUploaded: () => {
      sent = performance.now();
      log.add('上传 upload', `${formatBytes(file.size)} sent in ${((sent - began) / 1000).toFixed(2)} s`);
      const estimate = duration === null ? null : speeds.estimate(speedKey, duration);
      progress.timed('server', '服务器分析中 Analysing on the server', estimate);
    },
  });
  const seconds = (performance.now() - sent) / 1000;
  const answer = body as ResultRecord | ErrorRecord;
  if ('error' in answer) {
    log.add('服务器 server', `answered ${status} after ${seconds.toFixed(2)} s`, 'error');
    throw new Error(`${answer.error.code}: ${answer.error.message}`);
  }
  log.add(
    '服务器 server',
    `answered in ${seconds.toFixed(2)} s (waiting, decoding, the model on ${state.health?.backend ?? '?'})`,
  );
  speeds.remember(speedKey, answer.duration, seconds);
  return { record: answer, frames: frameCurve(answer), ranOn: `server (${state.health?.backend ?? '?'})` };
}

/**
 * The file's bytes for the page's model worker, transferred there (not copied). Formats only the browser itself
 * decodes need Web Audio, which workers lack: when the worker cannot decode the file, the page decodes it (the
 * library's decoders, then the browser's `decodeAudioData`) and sends the samples instead.
 */
async function predictInWorker(
  model: Awaited<ReturnType<InPageModel['get']>>,
  file: File,
  options: Parameters<typeof model.predict>[1],
) {
  try {
    return await model.predict(await file.arrayBuffer(), options);
  } catch (error) {
    if (!isEmotion2VecError(error) || error.code !== 'AUDIO_UNSUPPORTED_FORMAT') throw error;
    const decoded = await decodeAudio(new Uint8Array(await file.arrayBuffer()), { fileName: file.name });
    const samples: AudioInput = { channels: decoded.channels, sampleRate: decoded.sampleRate };
    return model.predict(samples, options);
  }
}

/**
 * The same model in the page's worker: loaded once per backend (files counted as they arrive), then `predict` on this
 * file while the page stays responsive.
 */
async function runInPage(file: File, options: RunOptions, duration: number | null): Promise<ShownResult> {
  const loadBegan = performance.now();
  const backend = selectedBackend();
  const firstLoad = !state.inPage.loadedOn(backend);
  if (firstLoad) progress.measured('model', '加载模型 Loading the model into this page…', null);
  const model = await state.inPage.get(backend, (files) =>
    progress.measured(
      'model',
      `加载模型 Loading the model into this page: ${files.arrived} of ${files.total ?? '?'} files`,
      files.total ? files.arrived / files.total : null,
    ),
  );
  const files = state.inPage.files;
  showPageBackend(model.backendChoice);
  log.add(
    '模型 model',
    firstLoad
      ? `loaded in ${((performance.now() - loadBegan) / 1000).toFixed(2)} s in a Web Worker on ` +
          `${describeChoice(model.backendChoice)}: ${files.arrived} files, ` +
          `${files.fromNetwork} from the network, ${files.arrived - files.fromNetwork} from the Cache API`
      : `already loaded (${model.backend})`,
  );
  const speedKey = `page:${state.health?.pageModel?.fingerprint ?? ''}:${model.backend}`;
  const estimate = duration === null ? null : speeds.estimate(speedKey, duration);
  progress.timed('page', `本页分析中 Analysing in this page (${model.backend})`, estimate);
  const began = performance.now();
  const prediction = await predictInWorker(model, file, {
    granularity: options.granularity,
    embedding: options.embedding,
    timeline: options.timeline,
    frameScores: options.granularity === 'frame',
  });
  const seconds = (performance.now() - began) / 1000;
  log.add('分析 analysis', `${seconds.toFixed(2)} s on ${model.backend}`);
  speeds.remember(speedKey, prediction.durationSeconds, seconds);
  const record = toInlineRecord(prediction, {
    input: file.name,
    key: outputKey(file.name),
    model: state.health?.model ?? 'page',
    granularity: options.granularity,
    fullFrameSeries: true,
  });
  return { record, frames: frameCurve(record), ranOn: `this page (${model.backend})` };
}

/** The record's frame series with its numbers (frame mode), if it has one. */
function inlineFrameSeries(record: ResultRecord): FrameSeries | null {
  const series = record.frame_scores;
  return series && 'smoothed' in series ? series : null;
}

/** The emotion curve of a record: its frame series' smoothed scores over time, named by the record's labels. */
function frameCurve(record: ResultRecord): ShownResult['frames'] {
  const series = inlineFrameSeries(record);
  return series
    ? frameSeriesSpans(
        series,
        record.labels.map((label) => label.label),
      )
    : null;
}

function download(name: string, bytes: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function setUpDownloads(): void {
  const key = () => state.shown?.record.key || 'result';
  element('download-json').addEventListener('click', () => {
    if (state.shown)
      download(`${key()}.result.json`, `${JSON.stringify(state.shown.record, null, 2)}\n`, 'application/json');
  });
  element('download-npy').addEventListener('click', () => {
    const embedding = state.shown?.record.embedding;
    if (embedding?.data)
      download(
        `${key()}.embedding.npy`,
        encodeNpy(Float32Array.from(embedding.data), embedding.shape) as Uint8Array<ArrayBuffer>,
        'application/octet-stream',
      );
  });
  element('download-frames').addEventListener('click', () => {
    const series = state.shown && inlineFrameSeries(state.shown.record);
    if (series) download(`${key()}.frame_scores.csv`, frameSeriesToCsv(series), 'text/csv');
  });
  element('download-timeline').addEventListener('click', () => {
    const record = state.shown?.record;
    if (record?.timeline)
      download(
        `${key()}.timeline.csv`,
        timelineToCsv(
          record.timeline,
          record.labels.map((label) => label.label),
        ),
        'text/csv',
      );
  });
}

/** The bundled example recording (shipped beside the page's script): loaded and run at once. */
function setUpExample(): void {
  const button = element<HTMLButtonElement>('example-button');
  button.addEventListener('click', async () => {
    if (state.busy) return;
    button.disabled = true;
    try {
      const response = await fetch(new URL(exampleAudio, import.meta.url));
      if (!response.ok) throw new Error(`The example recording is missing (${response.status}).`);
      await loadFile(new File([await response.blob()], 'example.ogg', { type: 'audio/ogg' }));
      await analyse();
    } catch (error) {
      setStatus(`Cannot load the example: ${messageOf(error)}`, 'error');
    } finally {
      button.disabled = false;
    }
  });
}

/** Records from the microphone until the button is pressed again, then loads and analyses the recording. */
function setUpRecorder(): void {
  const button = element<HTMLButtonElement>('record-button');
  const idle = button.textContent!;
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
        button.textContent = idle;
        const recording = new File(chunks, `recording${extensionForMimeType(type) ?? '.webm'}`, { type });
        void loadFile(recording).then(analyse);
      });
      recorder.start();
      button.textContent = '■ 停止并识别 · Stop and analyse';
    } catch (error) {
      setStatus(`Cannot use the microphone: ${messageOf(error)}`, 'error');
    }
  });
}

/**
 * Live mode: the microphone's MediaStream goes to the in-page model's `stream()` (the library's one live path,
 * docs/long-audio.md), and each finished speech segment is listed as it comes: time, face, label, score.
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
      state.live = false;
      updateStartButton();
      document.body.dataset.live = 'stopped';
      return;
    }
    try {
      button.disabled = true;
      setStatus('Loading the model into this page (once)…');
      const model = await state.inPage.get(selectedBackend());
      showPageBackend(model.backendChoice);
      const microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
      list.replaceChildren();
      list.hidden = false;
      const live = model.stream({
        mediaStream: microphone,
        onSegment: (segment) => {
          const names = segment.top ? labelNames(segment.top.label) : null;
          const item = document.createElement('li');
          const score = names
            ? `${names.en}${names.zh ? ` ${names.zh}` : ''} ${(segment.top!.score * 100).toFixed(0)} %`
            : '(no labels)';
          item.append(
            `${segment.start.toFixed(1)}–${segment.end.toFixed(1)} s `,
            faceElement(names?.en ?? null, 'face small'),
            ` ${score}`,
          );
          list.append(item);
          item.scrollIntoView({ block: 'nearest' });
        },
        onError: (error) => setStatus(`Live analysis failed: ${messageOf(error)}`, 'error'),
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
            (error: unknown) => setStatus(`Live analysis failed: ${messageOf(error)}`, 'error'),
          );
        },
      };
      button.textContent = '■ 停止 · Stop listening';
      state.live = true;
      updateStartButton();
      document.body.dataset.live = 'listening';
      setStatus('Listening: each finished sentence appears below.');
    } catch (error) {
      setStatus(`Cannot listen live: ${messageOf(error)}`, 'error');
    } finally {
      button.disabled = false;
    }
  });
}

function setUpInputs(): void {
  const input = element<HTMLInputElement>('file-input');
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    // Cleared so that picking the same file again fires 'change' again.
    input.value = '';
    if (file) void loadFile(file);
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
    if (file) void loadFile(file);
  });
  element('start-button').addEventListener('click', () => void analyse());
}

async function start(): Promise<void> {
  setUpInputs();
  setUpDownloads();
  setUpExample();
  setUpRecorder();
  setUpLive();
  try {
    const response = await fetch('/health');
    state.health = (await response.json()) as Health;
    state.inPage = new InPageModel(state.health.pageModel);
    updateStartButton();
    element('model-info').textContent = `模型 Model ${state.health.model} · server backend ${state.health.backend}`;
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
    setStatus(`The server does not answer: ${messageOf(error)}`, 'error');
    document.body.dataset.state = 'error';
  }
}

void start();
