/**
 * The page at `/`. Its script and styles are the bundle of src/web/app.ts (built by `npm run build` into
 * dist/web/, served under /app/, with the example recording and the Chinese font subset beside them); nothing is
 * loaded from another origin. Every control carries its Chinese and English name, as the WebUI's users read both.
 */
import { SEARCHED_AUDIO_EXTENSIONS } from '../audio/formats.js';

/** What the file picker offers: any audio type, and the extensions of the formats the CLI's folder search takes. */
const PICKER_ACCEPT = ['audio/*', ...SEARCHED_AUDIO_EXTENSIONS].join(',');
/** The same extensions, as the drop zone lists them (WAV MP3 M4A FLAC OGG ...). */
const FORMAT_NAMES = [...new Set([...SEARCHED_AUDIO_EXTENSIONS].map((ext) => ext.slice(1).toUpperCase()))].join(' ');

export const PAGE_HTML = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>emotion2vec+ 语音情感识别 · speech emotion recognition</title>
<link rel="stylesheet" href="/app/app.css">
<script type="module" src="/app/app.js"></script>
</head>
<body data-state="loading">
<header>
  <h1>emotion2vec+ 语音情感识别 <small>speech emotion recognition</small></h1>
  <p id="model-info">Connecting to the server…</p>
</header>
<main>
  <section id="input-panel" aria-label="Audio input">
    <h2>上传音频 <small>Audio</small></h2>
    <label id="drop-zone" for="file-input">
      <input id="file-input" type="file" accept="${PICKER_ACCEPT}">
      <strong>拖放音频文件到这里 · Drop an audio file here</strong>
      <span>或点击选择 · or click to pick one</span>
      <span class="formats">${FORMAT_NAMES}</span>
    </label>
    <div id="file-info" hidden>
      <span id="file-name"></span> <span id="file-facts"></span>
      <audio id="preview" controls preload="metadata"></audio>
    </div>
    <div class="row" id="sources">
      <button id="example-button" type="button" class="secondary">加载示例音频 · Load example audio</button>
      <button id="record-button" type="button" class="secondary">● 录音 · Record</button>
      <button id="live-button" type="button" class="secondary" title="Runs the model in this page">◉ 实时识别 · Listen live</button>
    </div>
    <fieldset id="options">
      <legend>参数设置 · Options</legend>
      <div class="option" id="granularity-switch">
        <span class="option-name">粒度 · Granularity</span>
        <span class="choices">
          <label><input type="radio" name="granularity" value="utterance" checked> 整句 utterance</label>
          <label><input type="radio" name="granularity" value="frame"> 帧级别 frame</label>
        </span>
      </div>
      <div class="option">
        <span class="option-name">特征 · Embedding</span>
        <span class="choices"><label><input type="checkbox" id="embedding-switch"> 提取 Embedding 特征 · extract</label></span>
      </div>
      <div class="option" id="mode-switch">
        <span class="option-name">运行位置 · Run on</span>
        <span class="choices">
          <label><input type="radio" name="mode" value="server" checked> 服务器 the server</label>
          <label><input type="radio" name="mode" value="page"> 本页 this page</label>
        </span>
      </div>
      <div class="option" id="backend-switch" title="Where the model runs in this page (a Web Worker): auto takes WebGPU, then WebGL, then wasm">
        <span class="option-name">本页后端 · Page backend</span>
        <span class="choices">
          <select id="backend-select" aria-label="Backend in this page">
            <option value="auto" selected>自动 auto</option>
            <option value="webgpu">WebGPU</option>
            <option value="webgl">WebGL</option>
            <option value="wasm">wasm</option>
          </select>
          <span id="page-backend"></span>
        </span>
      </div>
    </fieldset>
    <button id="start-button" type="button" disabled>▶ 开始识别 · Start</button>
    <div id="progress" hidden>
      <progress id="progress-bar"></progress>
      <span id="progress-text" role="status"></span>
    </div>
    <p id="status" role="alert"></p>
    <details id="log-panel" open>
      <summary>处理日志 · Processing log</summary>
      <ol id="log"></ol>
    </details>
    <ol id="live-segments" aria-label="Live speech segments" hidden></ol>
  </section>
  <section id="result-panel" aria-label="Result" hidden>
    <h2>识别结果 <small>Result</small></h2>
    <div id="top-emotion">
      <span id="top-face" class="face"></span>
      <div><div id="top-name"></div><div id="top-confidence"></div></div>
    </div>
    <ul id="score-bars"></ul>
    <ul id="warnings"></ul>
    <figure id="curve-panel" hidden>
      <figcaption>情感曲线 · Emotion over time <span id="curve-note"></span></figcaption>
      <div id="curve"></div>
    </figure>
    <figure id="timeline-panel" hidden>
      <figcaption>时间线 · Timeline <span class="note">(speech segments; grey: no speech)</span></figcaption>
      <div id="timeline"></div>
    </figure>
    <div class="row" id="downloads">
      <button id="download-json" type="button" class="secondary">下载 result.json</button>
      <button id="download-npy" type="button" class="secondary" hidden>下载 embedding.npy</button>
      <button id="download-frames" type="button" class="secondary" hidden>下载 frame_scores.csv</button>
      <button id="download-timeline" type="button" class="secondary" hidden>下载 timeline.csv</button>
    </div>
    <p id="result-meta"></p>
  </section>
</main>
</body>
</html>
`;
