// The local Discord page: state snapshot + live events, the channel view, components, modals.
import {
  COMPONENTS_V2, EPHEMERAL, LOADING, avatar, el, icon, markdown, messageTime, renderAttachment,
  renderComponents, renderEmbed,
} from "./render.js";
import { Composer } from "./composer.js";

const FIFTEEN_MINUTES_MS = 15 * 60 * 1000;

class App {
  constructor() {
    this.state = null;
    this.messages = new Map();
    this.dismissed = new Set();
    this.local = [];              // client-only notices ("did not respond", "sending…")
    this.persona = localStorage.getItem("persona") || "regular";
    this.channelId = localStorage.getItem("channel") || null;
    this.list = document.getElementById("messages");
    this.pinned = true;           // follow new messages until the member scrolls up
    this.scrolledTo = 0;          // the list's scrollTop at its last scroll (ours or theirs)
    this.ctx = {
      userName: (id) => this.userById(id)?.global_name ?? null,
      roleName: (id) => this.state.roles.find((r) => r.id === id)?.name ?? null,
      channelName: (id) => this.state.channels.find((c) => c.id === id)?.name ?? null,
    };
    this.actions = {
      click: (button, node) => this.component(button.custom_id, null, node),
      select: (select, values, node) => this.component(select.custom_id, values, node),
    };
  }

  async start() {
    await this.load();
    this.composer = new Composer(document.getElementById("composer"), this);
    const picker = document.getElementById("persona");
    picker.value = this.persona;
    picker.addEventListener("change", () => {
      this.persona = picker.value;
      localStorage.setItem("persona", this.persona);
      this.composer.reset();
      this.renderChrome();
      this.renderMessages();
    });
    document.getElementById("modal-cancel").addEventListener("click", () => this.closeModal());
    // Pinned to the bottom until the member scrolls up. Only a smaller scrollTop unpins: an
    // image that loads between our scroll and its (asynchronous) scroll event makes the
    // distance to the bottom grow without the member doing anything.
    this.list.addEventListener("scroll", () => {
      const top = this.list.scrollTop;
      if (this.list.scrollHeight - top - this.list.clientHeight < 120) this.pinned = true;
      else if (top < this.scrolledTo - 1) this.pinned = false;
      this.scrolledTo = top;
    });
    // The composer grows and shrinks with a command's options: stay at the bottom meanwhile.
    new ResizeObserver(() => { if (this.pinned) this.scrollToEnd(); }).observe(this.list);
    this.connect();
  }

  async load() {
    const response = await fetch("/ui/state", { cache: "no-store" });
    this.state = await response.json();
    this.messages = new Map(this.state.messages.map((m) => [m.id, m]));
    if (!this.state.channels.some((c) => c.id === this.channelId)) this.channelId = this.state.channels[0].id;
    this.renderChrome();
    this.renderMessages();
  }

  connect() {
    const status = document.getElementById("conn");
    const down = (text) => { status.textContent = text; status.className = "conn down"; status.title = text; };
    const source = new EventSource(`/ui/events?since=${this.state.seq}`);
    // "Live" only once the server has said who it is: a restarted server has other command
    // ids and messages, so the page reloads them first instead of showing a stale list.
    source.addEventListener("error", () => down("reconnecting…"));
    source.addEventListener("hello", (event) => {
      const { instance } = JSON.parse(event.data);
      if (instance !== this.state.instance) {
        source.close();
        down("reloading…");
        this.load().then(() => {
          const note = document.getElementById("restart-note");
          const at = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
          note.textContent = `The local Discord restarted (${at}): commands and messages were reloaded.`;
          note.hidden = false;
          this.composer.reset();
          this.connect();
        }, () => { down("reconnecting…"); setTimeout(() => this.connect(), 1000); });
        return;
      }
      status.textContent = ""; status.className = "conn live"; status.title = "Live";
    });
    source.addEventListener("update", (event) => {
      const { kind, data } = JSON.parse(event.data);
      if (kind === "message_create" || kind === "message_update") {
        this.messages.set(data.id, data);
        this.upsert(data);
      } else if (kind === "message_delete") {
        this.messages.delete(data.id);
        this.renderMessages();
      } else if (kind === "commands") {
        this.state.commands = data;
      } else if (kind === "reset") {
        source.close();
        this.load().then(() => this.connect());
      }
    });
  }

  me() {
    const key = this.persona;
    return this.state.members.find((m) => m.key === key) || this.state.members[0];
  }

  userById(id) {
    if (id === this.state.bot.id) return this.state.bot;
    return this.state.members.find((m) => m.user.id === id)?.user;
  }

  async post(body) {
    try {
      const response = await fetch("/ui/interactions", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ persona: this.persona, ...body }),
      });
      return await response.json();
    } catch (error) {
      return { ok: false, error: "The emulator is not reachable", detail: String(error) };
    }
  }

  // -- chrome ----------------------------------------------------------------------------
  renderChrome() {
    const s = this.state;
    const channel = s.channels.find((c) => c.id === this.channelId);
    document.title = `#${channel.name} · ${s.guild.name} · local Discord`;
    document.getElementById("guild-name").textContent = s.guild.name;
    document.getElementById("channel-name").textContent = channel.name;
    document.getElementById("channel-topic").textContent = channel.topic || "";
    const input = document.getElementById("composer-input");
    input.placeholder = `Message #${channel.name} — type / for commands`;
    const list = document.getElementById("channels");
    list.replaceChildren(...s.channels.map((c) => el("button", {
      class: `channel${c.id === this.channelId ? " active" : ""}`, type: "button",
      onclick: () => { this.channelId = c.id; localStorage.setItem("channel", c.id); this.renderChrome(); this.renderMessages(); },
    }, el("span", { class: "hash", "aria-hidden": "true" }, "#"), c.name)));
    const me = this.me();
    document.getElementById("me-avatar").replaceWith(Object.assign(avatar(me.user), { id: "me-avatar" }));
    document.getElementById("me-name").textContent = me.user.global_name;
    const admin = (BigInt(me.permissions) & 8n) !== 0n;
    document.getElementById("me-sub").textContent = admin ? "Administrator" : "Member";
  }

  // -- messages --------------------------------------------------------------------------
  visible(message) {
    if (message.channel_id !== this.channelId || this.dismissed.has(message.id)) return false;
    if (!(message.flags & EPHEMERAL)) return true;
    return message.interaction_metadata?.user?.id === this.me().user.id;
  }

  renderMessages() {
    const nearBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 120;
    const items = [...this.messages.values()].filter((m) => this.visible(m))
      .map((m) => ({ id: m.id, node: () => this.renderMessage(m) }));
    for (const note of this.local) {
      if (note.channelId === this.channelId && note.persona === this.persona) items.push({ id: note.id, node: () => note.render() });
    }
    items.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    // One message that fails to render must not take the whole channel down with it.
    const nodes = items.map((item) => {
      try {
        return item.node();
      } catch (error) {
        console.error("could not render message", item.id, error);
        return el("article", { class: "message local" }, `(message ${item.id} could not be shown)`);
      }
    });
    if (!nodes.length) nodes.push(this.welcome());
    this.list.replaceChildren(...nodes);
    if (nearBottom || this.pinned) this.toBottom(this.list);
  }

  // Scroll to the newest message, and again as each of its images loads: an image has no
  // height until it has loaded, so scrolling only once leaves it below the fold. A member
  // who scrolls up meanwhile is left where they are.
  toBottom(root) {
    this.scrollToEnd();
    this.pinned = true;
    for (const img of root.querySelectorAll("img")) {
      if (img.complete) continue;
      img.addEventListener("load", () => { if (this.pinned) this.scrollToEnd(); }, { once: true });
    }
  }

  scrollToEnd() {
    this.list.scrollTop = this.list.scrollHeight;
    this.scrolledTo = this.list.scrollTop;
  }

  // Replace one message in place (keeps other messages' open menus and inputs intact).
  upsert(message) {
    const current = this.list.querySelector(`article[data-id="${CSS.escape(message.id)}"]`);
    if (current && this.visible(message)) {
      const nearBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 120;
      const node = this.renderMessage(message);
      current.replaceWith(node);
      if (nearBottom || this.pinned) this.toBottom(node);
    } else {
      this.renderMessages();
    }
  }

  welcome() {
    const channel = this.state.channels.find((c) => c.id === this.channelId);
    return el("div", { class: "welcome" }, el("div", { class: "welcome-hash" }, "#"),
      el("h2", {}, `Welcome to #${channel.name}!`),
      el("p", {}, "This is a local Discord. Type / in the box below to use the bot's commands; "
        + "switch between a regular and an admin member at the bottom left."));
  }

  interactionLine(message) {
    const meta = message.interaction_metadata;
    if (!meta) return null;
    const user = meta.user || {};
    const name = meta.name ? `/${meta.name}` : null;
    return el("div", { class: "reply-line" }, el("span", { class: "spine", "aria-hidden": "true" }),
      avatar(user, "mini"), el("span", { class: "reply-user" }, user.global_name || user.username),
      name ? [" used ", el("span", { class: "command-name" }, name)] : " used a component");
  }

  renderMessage(message) {
    const author = message.author;
    const ephemeral = !!(message.flags & EPHEMERAL);
    const loading = !!(message.flags & LOADING);
    const body = el("div", { class: "message-body" },
      el("div", { class: "meta" }, el("span", { class: "author" }, author.global_name || author.username),
        author.bot ? el("span", { class: "app-tag" }, "APP") : null,
        el("time", { datetime: message.timestamp, title: new Date(message.timestamp).toLocaleString() }, messageTime(message.timestamp)),
        message.edited_timestamp && !loading ? el("span", { class: "edited" }, "(edited)") : null));
    if (loading) {
      const age = Date.now() - new Date(message.timestamp).getTime();
      if (age > FIFTEEN_MINUTES_MS) body.append(el("div", { class: "failed" }, "The application did not respond"));
      else body.append(el("div", { class: "thinking" }, `${author.global_name || author.username} is thinking`,
        el("span", { class: "dots", "aria-hidden": "true" }, el("i"), el("i"), el("i"))));
    }
    if (message.content) body.append(el("div", { class: "content", html: markdown(message.content, this.ctx) }));
    if (message.embeds?.length && !(message.flags & 4)) {
      body.append(el("div", { class: "embeds" }, ...message.embeds.map((e) => renderEmbed(e, this.ctx))));
    }
    const inEmbeds = new Set(message.embeds?.flatMap((e) => [e.image?.url, e.thumbnail?.url]).filter(Boolean));
    const shown = (message.attachments || []).filter((a) => !inEmbeds.has(a.url));
    if (shown.length) body.append(el("div", { class: "attachments" }, ...shown.map(renderAttachment)));
    if (message.components?.length) {
      const v2 = message.flags & COMPONENTS_V2;
      body.append(el("div", { class: `components${v2 ? " v2" : ""}` }, ...renderComponents(message.components, this.state, this.actions, this.ctx)));
    }
    if (message._failed) body.append(el("div", { class: "failed small" }, message._failed));
    if (ephemeral) body.append(this.ephemeralNote(() => { this.dismissed.add(message.id); this.renderMessages(); }));
    return el("article", { class: `message${ephemeral ? " ephemeral" : ""}${loading ? " loading" : ""}`, dataset: { id: message.id } },
      this.interactionLine(message), el("div", { class: "message-row" }, avatar(author), body));
  }

  ephemeralNote(dismiss) {
    return el("div", { class: "ephemeral-note" }, icon("eye"),
      " Only you can see this • ", el("button", { type: "button", class: "link", onclick: dismiss }, "Dismiss message"));
  }

  // A client-only message such as Discord's "The application did not respond".
  addLocal(render, id = null) {
    const note = { id: id || snowflakeNow(), channelId: this.channelId, persona: this.persona, render };
    this.local.push(note);
    this.renderMessages();
    return note;
  }

  removeLocal(note) {
    this.local = this.local.filter((n) => n !== note);
    this.renderMessages();
  }

  systemNote(entryName, text, detail) {
    const bot = this.state.bot;
    const me = this.me().user;
    let note = null;
    const render = () => el("article", { class: "message ephemeral local" },
      entryName ? el("div", { class: "reply-line" }, el("span", { class: "spine" }), avatar(me, "mini"),
        el("span", { class: "reply-user" }, me.global_name), " used ", el("span", { class: "command-name" }, entryName)) : null,
      el("div", { class: "message-row" }, avatar(bot), el("div", { class: "message-body" },
        el("div", { class: "meta" }, el("span", { class: "author" }, bot.global_name), el("span", { class: "app-tag" }, "APP")),
        el("div", { class: "failed" }, text),
        detail ? el("div", { class: "detail", title: "Shown by the emulator only; Discord gives no reason" }, detail) : null,
        this.ephemeralNote(() => this.removeLocal(note)))));
    note = this.addLocal(render);
    return note;
  }

  // -- actions ---------------------------------------------------------------------------
  async runCommand(entry, request) {
    const name = "/" + entry.path.join(" ");
    const me = this.me().user;
    const pending = this.addLocal(() => el("article", { class: "message local pending" },
      el("div", { class: "reply-line" }, el("span", { class: "spine" }), avatar(me, "mini"),
        el("span", { class: "reply-user" }, me.global_name), " used ", el("span", { class: "command-name" }, name)),
      el("div", { class: "message-row" }, avatar(this.state.bot), el("div", { class: "message-body" },
        el("div", { class: "sending" }, "Sending command…")))));
    const result = await this.post(request);
    this.removeLocal(pending);
    if (result.refused) { this.composer.say(result.error); return; }
    this.handle(result, name);
  }

  handle(result, name, node = null) {
    if (!result.ok) {
      if (node) this.componentFailed(node, result);
      else this.systemNote(name, result.error || "The application did not respond", result.detail);
      return;
    }
    if (result.modal) this.openModal(result);
  }

  async component(customId, values, node) {
    const article = node.closest("article");
    const messageId = article?.dataset.id;
    node.classList.add("busy");
    const result = await this.post({ kind: "component", message_id: messageId, custom_id: customId, values });
    node.classList.remove("busy");
    if (result.refused) { this.componentFailed(node, { error: result.error }); return; }
    if (!result.ok) { this.componentFailed(node, result); return; }
    if (result.modal) this.openModal(result);
  }

  componentFailed(node, result) {
    const message = this.messages.get(node.closest("article")?.dataset.id);
    if (!message) return;
    // Discord's wording for a failed component interaction; the reason is the emulator's.
    message._failed = "This interaction failed" + (result.detail ? ` — ${result.detail}` : (result.error && result.error !== "The application did not respond" ? ` — ${result.error}` : ""));
    this.renderMessages();
    setTimeout(() => { delete message._failed; this.renderMessages(); }, 8000);
  }

  // -- modals ----------------------------------------------------------------------------
  openModal(result) {
    const modal = result.modal;
    const dialog = document.getElementById("modal");
    const form = document.getElementById("modal-form");
    document.getElementById("modal-title").textContent = modal.title;
    const fields = document.getElementById("modal-fields");
    fields.replaceChildren();
    for (const top of modal.components || []) {
      if (top.type === 18) fields.append(this.modalField(top.component, top.label, top.description));
      else if (top.type === 1) for (const c of top.components || []) fields.append(this.modalField(c, c.label, null));
      else if (top.type === 10) fields.append(el("div", { class: "text-display", html: markdown(top.content, this.ctx) }));
    }
    const error = document.getElementById("modal-error");
    error.hidden = true;
    form.onsubmit = async (event) => {
      event.preventDefault();
      const values = {};
      for (const input of fields.querySelectorAll("[data-custom-id]")) {
        const id = input.dataset.customId;
        if (input.tagName === "SELECT") values[id] = [...input.selectedOptions].map((o) => o.value).filter(Boolean);
        else if (input.type === "checkbox") values[id] = input.checked;
        else values[id] = input.value;
      }
      const submit = document.getElementById("modal-submit");
      submit.disabled = true;
      const answer = await this.post({ kind: "modal", interaction_id: result.interaction_id, values });
      submit.disabled = false;
      if (answer.refused) { error.textContent = answer.error; error.hidden = false; return; }
      this.closeModal();
      if (!answer.ok) this.systemNote(null, answer.error || "The application did not respond", answer.detail);
    };
    dialog.showModal();
    fields.querySelector("input,textarea,select")?.focus();
  }

  modalField(component, label, description) {
    const id = `modal-${component.custom_id}`;
    const wrap = el("div", { class: "modal-field" },
      el("label", { for: id }, label || component.custom_id, component.required === false ? null : el("span", { class: "req" }, " *")),
      description ? el("div", { class: "modal-description" }, description) : null);
    let input;
    if (component.type === 4) {
      const attrs = { id, dataset: { customId: component.custom_id }, placeholder: component.placeholder || null,
        minlength: component.min_length ?? null, maxlength: component.max_length ?? null, required: component.required !== false };
      input = component.style === 2 ? el("textarea", { ...attrs, rows: 4 }) : el("input", { ...attrs, type: "text" });
      input.value = component.value || "";
    } else if (component.type === 3) {
      const multiple = (component.max_values ?? 1) > 1;
      input = el("select", { id, dataset: { customId: component.custom_id }, multiple },
        multiple ? null : el("option", { value: "" }, component.placeholder || "Make a selection"),
        ...(component.options || []).map((o) => el("option", { value: o.value, selected: !!o.default }, o.label)));
    } else if (component.type === 23) {
      input = el("input", { id, type: "checkbox", dataset: { customId: component.custom_id } });
    } else {
      input = el("div", { class: "unsupported" }, `(component type ${component.type} is not emulated)`);
    }
    wrap.append(input);
    return wrap;
  }

  closeModal() {
    const dialog = document.getElementById("modal");
    if (dialog.open) dialog.close();
  }
}

let localCounter = 0;
function snowflakeNow() {
  // Orders client-only notices among real messages (Discord's epoch, ms << 22).
  return ((BigInt(Date.now()) - 1420070400000n) << 22n | BigInt(4095 - (localCounter++ % 4096))).toString();
}

const app = new App();
window.localDiscord = app;
app.start().catch((error) => {
  document.getElementById("messages").replaceChildren(el("div", { class: "failed" }, `The page could not start: ${error}`));
});
