// The slash-command composer: "/" lists the registered commands (subcommands as their own
// entries, like Discord), choosing one turns its options into inputs, Enter sends.
import { el } from "./render.js";

const SUB_COMMAND = 1, SUB_COMMAND_GROUP = 2, STRING = 3, INTEGER = 4, BOOLEAN = 5, USER = 6,
  CHANNEL = 7, ROLE = 8, MENTIONABLE = 9, NUMBER = 10, ATTACHMENT = 11;
const ADMINISTRATOR = 1n << 3n;

// Every invocable path of a command: [{command, path, options, description}].
export function leaves(command) {
  const out = [];
  const walk = (node, path) => {
    const subs = (node.options || []).filter((o) => o.type === SUB_COMMAND || o.type === SUB_COMMAND_GROUP);
    if (!subs.length) {
      out.push({ command, path, options: node.options || [], description: node.description });
      return;
    }
    for (const sub of subs) walk(sub, [...path, sub.name]);
  };
  if ((command.type ?? 1) === 1) walk(command, [command.name]);
  return out;
}

export function canUse(command, member) {
  const required = command.default_member_permissions;
  if (required === null || required === undefined) return true;
  const have = BigInt(member.permissions);
  if (have & ADMINISTRATOR) return true;
  const need = BigInt(required);
  return need !== 0n && (have & need) === need;
}

export class Composer {
  constructor(root, app) {
    this.app = app;
    this.root = root;
    this.popup = document.getElementById("command-popup");
    this.notice = document.getElementById("composer-notice");
    this.input = root.querySelector("#composer-input");
    this.fields = root.querySelector("#composer-fields");
    this.chip = root.querySelector("#composer-chip");
    this.sendButton = root.querySelector("#composer-send");
    this.selected = null;   // the chosen leaf
    this.highlight = 0;
    this.matches = [];
    this.input.addEventListener("input", () => this.onType());
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.input.addEventListener("focus", () => this.onType());
    root.addEventListener("submit", (e) => { e.preventDefault(); this.submit(); });
    document.addEventListener("mousedown", (e) => {
      if (!this.popup.contains(e.target) && e.target !== this.input) this.hidePopup();
    });
  }

  entries() {
    const member = this.app.me();
    return this.app.state.commands.filter((c) => canUse(c, member)).flatMap(leaves)
      .sort((a, b) => a.path.join(" ").localeCompare(b.path.join(" ")));
  }

  onType() {
    if (this.selected) return;
    const text = this.input.value;
    this.say(null);
    if (!text.startsWith("/")) { this.hidePopup(); return; }
    const query = text.slice(1).trim().toLowerCase();
    this.matches = this.entries().filter((e) => e.path.join(" ").startsWith(query) || e.path[0].includes(query));
    this.highlight = 0;
    this.showPopup();
  }

  showPopup() {
    this.popup.replaceChildren(el("div", { class: "popup-title" }, this.matches.length ? "Commands matching" : "No commands match"));
    this.matches.forEach((entry, i) => {
      this.popup.append(el("div", {
        class: `popup-item${i === this.highlight ? " active" : ""}`, role: "option", dataset: { path: entry.path.join(" ") },
        onmousedown: (e) => { e.preventDefault(); this.choose(entry); },
      }, el("span", { class: "popup-name" }, "/" + entry.path.join(" ")),
      el("span", { class: "popup-description" }, entry.description || ""),
      el("span", { class: "popup-app" }, this.app.state.application.name)));
    });
    this.popup.hidden = false;
  }

  hidePopup() { this.popup.hidden = true; }

  onKey(event) {
    if (!this.popup.hidden && this.matches.length) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        this.highlight = (this.highlight + step + this.matches.length) % this.matches.length;
        this.showPopup();
        return;
      }
      if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        this.choose(this.matches[this.highlight]);
        return;
      }
    }
    if (event.key === "Escape") this.reset();
  }

  say(text, kind = "error") {
    this.notice.hidden = !text;
    this.notice.textContent = text || "";
    this.notice.className = `notice ${kind}`;
  }

  choose(entry) {
    this.selected = entry;
    this.hidePopup();
    this.input.value = "";
    this.input.hidden = true;
    this.chip.hidden = false;
    this.chip.replaceChildren(el("span", {}, "/" + entry.path.join(" ")),
      el("button", { type: "button", class: "chip-close", title: "Cancel (Esc)", "aria-label": "Cancel command",
        onclick: () => this.reset() }, "×"));
    this.fields.replaceChildren();
    const ordered = [...entry.options].sort((a, b) => Number(!!b.required) - Number(!!a.required));
    for (const option of ordered) this.fields.append(this.field(option));
    this.root.classList.add("has-command");
    const first = this.fields.querySelector("input,select");
    (first || this.sendButton).focus();
    if (!ordered.length) this.say(`Press Enter to send /${entry.path.join(" ")}`, "hint");
  }

  reset() {
    this.selected = null;
    this.chip.hidden = true;
    this.input.hidden = false;
    this.input.value = "";
    this.fields.replaceChildren();
    this.root.classList.remove("has-command");
    this.say(null);
    this.hidePopup();
    this.input.focus();
  }

  field(option) {
    const id = `opt-${option.name}`;
    const wrap = el("label", { class: `option${option.required ? " required" : ""}`, for: id, title: option.description },
      el("span", { class: "option-name" }, option.name + (option.required ? "" : " (optional)")));
    let input;
    const keyOk = (e) => { if (e.key === "Enter") { e.preventDefault(); this.submit(); } if (e.key === "Escape") this.reset(); };
    if (option.choices?.length || option.type === BOOLEAN || [USER, CHANNEL, ROLE, MENTIONABLE].includes(option.type)) {
      input = el("select", { id, name: option.name, "data-type": option.type, onkeydown: keyOk },
        el("option", { value: "" }, option.required ? "Choose…" : "—"),
        ...this.choicesFor(option).map(([label, value]) => el("option", { value: String(value) }, label)));
    } else if (option.type === ATTACHMENT) {
      input = el("input", { id, name: option.name, type: "file", "data-type": option.type });
    } else {
      const numeric = option.type === INTEGER || option.type === NUMBER;
      input = el("input", {
        id, name: option.name, "data-type": option.type, autocomplete: "off",
        type: numeric && !option.autocomplete ? "number" : "text",
        step: option.type === INTEGER ? "1" : (numeric ? "any" : null),
        min: option.min_value ?? null, max: option.max_value ?? null,
        minlength: option.min_length ?? null, maxlength: option.max_length ?? null,
        placeholder: option.description, onkeydown: keyOk,
      });
      if (option.autocomplete) this.autocomplete(option, input, wrap);
    }
    wrap.append(input);
    return wrap;
  }

  choicesFor(option) {
    const s = this.app.state;
    if (option.choices?.length) return option.choices.map((c) => [c.name, c.value]);
    if (option.type === BOOLEAN) return [["True", "true"], ["False", "false"]];
    const members = s.members.map((m) => [`${m.user.global_name} (@${m.user.username})`, m.user.id]);
    const roles = s.roles.filter((r) => r.id !== s.guild.id).map((r) => [`@${r.name}`, r.id]);
    if (option.type === USER) return members;
    if (option.type === ROLE) return roles;
    if (option.type === MENTIONABLE) return [...members, ...roles];
    return s.channels.filter((c) => !option.channel_types?.length || option.channel_types.includes(c.type))
      .map((c) => [`#${c.name}`, c.id]);
  }

  // Suggestions come from a real APPLICATION_COMMAND_AUTOCOMPLETE interaction, debounced.
  autocomplete(option, input, wrap) {
    const list = el("div", { class: "suggestions", role: "listbox", hidden: true });
    wrap.append(list);
    let timer = null;
    let generation = 0;
    const ask = () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        if (this.selected === null || !input.isConnected) return;  // sent or cancelled meanwhile
        const mine = ++generation;
        const { rawFiles, ...request } = this.collect();
        const result = await this.app.post({ kind: "autocomplete", ...request,
          options: { ...request.options, [option.name]: input.value }, focused: option.name });
        if (mine !== generation || !input.isConnected) return;
        list.replaceChildren();
        if (!result.ok) {
          list.append(el("div", { class: "suggestion failed" }, "Loading options failed"));
        } else if (!(result.choices || []).length) {
          list.append(el("div", { class: "suggestion empty" }, "No options match your search"));
        }
        for (const choice of result.choices || []) {
          list.append(el("div", { class: "suggestion", role: "option", dataset: { value: String(choice.value) },
            onmousedown: (e) => { e.preventDefault(); input.value = String(choice.value); list.hidden = true; } }, choice.name));
        }
        list.hidden = document.activeElement !== input;
      }, 200);
    };
    input.addEventListener("input", ask);
    input.addEventListener("focus", ask);
    input.addEventListener("blur", () => setTimeout(() => { list.hidden = true; }, 150));
  }

  collect() {
    const values = {};
    const files = {};
    for (const input of this.fields.querySelectorAll("input,select")) {
      if (input.type === "file") {
        if (input.files?.[0]) files[input.name] = input.files[0];
      } else if (input.value !== "") {
        values[input.name] = input.value;
      }
    }
    const entry = this.selected;
    return { command_id: entry.command.id, path: entry.path, options: values, rawFiles: files,
      channel_id: this.app.channelId };
  }

  // Discord's client refuses these before anything is sent.
  check(entry, values, files) {
    for (const option of entry.options) {
      const value = values[option.name];
      const missing = option.type === ATTACHMENT ? !files[option.name] : value === undefined;
      if (missing) {
        if (option.required) return `${option.name} is required`;
        continue;
      }
      if (option.type === INTEGER || option.type === NUMBER) {
        const n = Number(value);
        if (!Number.isFinite(n) || (option.type === INTEGER && !Number.isInteger(n))) return `${option.name} must be a ${option.type === INTEGER ? "whole " : ""}number`;
        if (option.min_value !== undefined && n < option.min_value) return `${option.name} must be at least ${option.min_value}`;
        if (option.max_value !== undefined && n > option.max_value) return `${option.name} must be at most ${option.max_value}`;
      }
      if (option.type === STRING) {
        if (option.min_length !== undefined && value.length < option.min_length) return `${option.name} needs at least ${option.min_length} characters`;
        if (option.max_length !== undefined && value.length > option.max_length) return `${option.name} allows at most ${option.max_length} characters`;
      }
    }
    return null;
  }

  async submit() {
    if (!this.selected) {
      if (this.input.value.startsWith("/") && this.matches.length) { this.choose(this.matches[this.highlight]); return; }
      if (this.input.value.trim()) this.say("This bot answers slash commands only: type / to see them.", "hint");
      return;
    }
    const entry = this.selected;
    const { rawFiles, ...request } = this.collect();
    const problem = this.check(entry, request.options, rawFiles);
    if (problem) { this.say(problem); return; }
    const files = {};
    for (const [name, file] of Object.entries(rawFiles)) files[name] = await readFile(file);
    this.reset();
    await this.app.runCommand(entry, { kind: "command", ...request, options: coerce(entry, request.options), files });
  }
}

function coerce(entry, values) {
  const out = {};
  for (const option of entry.options) {
    const v = values[option.name];
    if (v === undefined) continue;
    if (option.type === INTEGER || option.type === NUMBER) out[option.name] = Number(v);
    else if (option.type === BOOLEAN) out[option.name] = v === "true";
    else out[option.name] = v;
  }
  return out;
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({ filename: file.name, content_type: file.type || "application/octet-stream",
      data: String(reader.result).split(",", 2)[1] || "" });
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}
