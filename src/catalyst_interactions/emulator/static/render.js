// Rendering of Discord messages: markdown, embeds, attachments and components.
// Everything user- or bot-supplied goes through textContent or escapeHtml: never raw HTML.

export const EPHEMERAL = 1 << 6;
export const LOADING = 1 << 7;
export const COMPONENTS_V2 = 1 << 15;

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "html") node.innerHTML = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Small icons as inline SVG: system fonts may have no emoji (headless browsers, minimal Linux).
const ICONS = {
  eye: '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="currentColor" d="M12 5C5.6 5 2 12 2 12s3.6 7 10 7 10-7 10-7-3.6-7-10-7Zm0 11.5A4.5 4.5 0 1 1 12 7.5a4.5 4.5 0 0 1 0 9Zm0-2.5a2 2 0 1 0 0-4 2 2 0 0 0 0 4Z"/></svg>',
  file: '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path fill="currentColor" d="M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2Zm7 1.5V9h5.5Z"/></svg>',
};

export function icon(name, extra = "") {
  return el("span", { class: `icon ${extra}`, html: ICONS[name] });
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

function safeUrl(url) {
  try {
    const parsed = new URL(url, location.href);
    return ["http:", "https:"].includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

// -- markdown ------------------------------------------------------------------------------
// A subset of Discord's markdown: code blocks and spans, bold, italics, underline, strike,
// spoilers, masked and bare links, headings, quotes, lists, mentions and <t:…> timestamps.
export function markdown(text, ctx = {}) {
  if (!text) return "";
  const stash = [];
  const keep = (html) => `\u0000${stash.push(html) - 1}\u0000`;
  let src = escapeHtml(text);
  src = src.replace(/```(?:([\w+-]+)\n)?([\s\S]*?)```/g, (_, lang, code) =>
    keep(`<pre class="codeblock"><code>${code.replace(/^\n/, "")}</code></pre>`));
  src = src.replace(/`([^`\n]+)`/g, (_, code) => keep(`<code class="inline">${code}</code>`));
  src = src.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, (_, label, url) => {
    const href = safeUrl(url.replace(/&amp;/g, "&"));
    return href ? keep(`<a href="${escapeHtml(href)}" target="_blank" rel="noreferrer noopener">${label}</a>`) : label;
  });
  src = src.replace(/(^|[\s(])(https?:\/\/[^\s<]+[^\s<.,:;"')\]])/g, (_, lead, url) => {
    const href = safeUrl(url.replace(/&amp;/g, "&"));
    return href ? lead + keep(`<a href="${escapeHtml(href)}" target="_blank" rel="noreferrer noopener">${url}</a>`) : lead + url;
  });
  src = src.replace(/&lt;t:(-?\d+)(?::([tTdDfFR]))?&gt;/g, (_, secs, style) =>
    keep(`<span class="timestamp">${escapeHtml(formatUnix(Number(secs), style || "f"))}</span>`));
  src = src.replace(/&lt;@!?(\d+)&gt;/g, (_, id) => keep(`<span class="mention">@${escapeHtml(ctx.userName?.(id) ?? id)}</span>`));
  src = src.replace(/&lt;@&amp;(\d+)&gt;/g, (_, id) => keep(`<span class="mention">@${escapeHtml(ctx.roleName?.(id) ?? id)}</span>`));
  src = src.replace(/&lt;#(\d+)&gt;/g, (_, id) => keep(`<span class="mention">#${escapeHtml(ctx.channelName?.(id) ?? id)}</span>`));
  src = src.replace(/\*\*\*([^*]+)\*\*\*/g, "<strong><em>$1</em></strong>");
  src = src.replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
  src = src.replace(/__([^_]+)__/g, "<u>$1</u>");
  src = src.replace(/(^|[^*\w])\*([^*\n]+)\*(?!\w)/g, "$1<em>$2</em>");
  src = src.replace(/(^|[^_\w])_([^_\n]+)_(?!\w)/g, "$1<em>$2</em>");
  src = src.replace(/~~([^~]+)~~/g, "<s>$1</s>");
  src = src.replace(/\|\|([^|]+)\|\|/g, '<span class="spoiler" tabindex="0">$1</span>');
  const lines = src.split("\n").map((line) => {
    let m;
    if ((m = /^(#{1,3}) (.+)$/.exec(line))) return `<div class="h${m[1].length}">${m[2]}</div>`;
    if ((m = /^-# (.+)$/.exec(line))) return `<div class="subtext">${m[1]}</div>`;
    if ((m = /^&gt; (.*)$/.exec(line))) return `<div class="quote">${m[1]}</div>`;
    if ((m = /^\s*[-*] (.+)$/.exec(line))) return `<div class="li">• ${m[1]}</div>`;
    return line;
  });
  let html = lines.join("\n").replace(/\n(?=<div)|(<\/div>)\n/g, "$1");
  html = html.replace(/\n/g, "<br>");
  return html.replace(/\u0000(\d+)\u0000/g, (_, i) => stash[Number(i)]);
}

export function formatUnix(secs, style = "f") {
  const d = new Date(secs * 1000);
  // Out-of-range timestamps (e.g. <t:99999999999999:R>) are shown as written, like Discord.
  if (Number.isNaN(d.getTime())) return `<t:${secs}:${style}>`;
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  switch (style) {
    case "t": return time;
    case "T": return d.toLocaleTimeString();
    case "d": return d.toLocaleDateString();
    case "D": return d.toLocaleDateString([], { dateStyle: "long" });
    case "F": return d.toLocaleString([], { dateStyle: "full", timeStyle: "short" });
    case "R": {
      const diff = Math.round((d - Date.now()) / 1000);
      const rtf = new Intl.RelativeTimeFormat([], { numeric: "auto" });
      const abs = Math.abs(diff);
      if (abs < 60) return rtf.format(diff, "second");
      if (abs < 3600) return rtf.format(Math.round(diff / 60), "minute");
      if (abs < 86400) return rtf.format(Math.round(diff / 3600), "hour");
      return rtf.format(Math.round(diff / 86400), "day");
    }
    default: return d.toLocaleString([], { dateStyle: "long", timeStyle: "short" });
  }
}

export function messageTime(iso) {
  const d = new Date(iso);
  const today = new Date();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (d.toDateString() === today.toDateString()) return `Today at ${time}`;
  return `${d.toLocaleDateString()} ${time}`;
}

// -- pieces --------------------------------------------------------------------------------
const PALETTE = ["#5865f2", "#3ba55c", "#faa61a", "#ed4245", "#eb459e", "#00a8fc"];

export function avatar(user, extra = "") {
  const name = user?.global_name || user?.username || "?";
  const index = Number(BigInt(user?.id || "0") % BigInt(PALETTE.length));
  return el("div", { class: `avatar ${extra}`, style: `background:${PALETTE[index]}`, "aria-hidden": "true" },
    name.slice(0, 1).toUpperCase());
}

export function emoji(e) {
  if (!e) return null;
  if (e.id) return el("span", { class: "emoji custom", title: `:${e.name}:` }, `:${e.name || "emoji"}:`);
  return el("span", { class: "emoji" }, e.name);
}

function colorOf(value) {
  if (value === undefined || value === null) return null;
  return "#" + Number(value).toString(16).padStart(6, "0");
}

export function renderEmbed(embed, ctx) {
  const box = el("div", { class: "embed", style: `border-left-color:${colorOf(embed.color) || "var(--embed-border)"}` });
  const grid = el("div", { class: "embed-grid" });
  const main = el("div", { class: "embed-main" });
  if (embed.author?.name) {
    const href = safeUrl(embed.author.url || "");
    main.append(el("div", { class: "embed-author" },
      embed.author.icon_url ? el("img", { src: embed.author.icon_url, alt: "" }) : null,
      href ? el("a", { href, target: "_blank", rel: "noreferrer" }, embed.author.name) : embed.author.name));
  }
  if (embed.title) {
    const href = safeUrl(embed.url || "");
    const title = el("div", { class: "embed-title", html: markdown(embed.title, ctx) });
    if (href) main.append(el("a", { class: "embed-title-link", href, target: "_blank", rel: "noreferrer" }, title));
    else main.append(title);
  }
  if (embed.description) main.append(el("div", { class: "embed-description", html: markdown(embed.description, ctx) }));
  if (embed.fields?.length) {
    const fields = el("div", { class: "embed-fields" });
    let run = 0;
    for (const field of embed.fields) {
      // Up to three inline fields share a row; a non-inline field takes a whole row.
      run = field.inline ? (run % 3) + 1 : 0;
      fields.append(el("div", { class: `embed-field ${field.inline ? "inline" : "block"}` },
        el("div", { class: "embed-field-name", html: markdown(field.name, ctx) }),
        el("div", { class: "embed-field-value", html: markdown(field.value, ctx) })));
    }
    main.append(fields);
  }
  grid.append(main);
  if (embed.thumbnail?.url) grid.append(el("img", { class: "embed-thumbnail", src: embed.thumbnail.url, alt: "" }));
  box.append(grid);
  if (embed.image?.url) box.append(el("img", { class: "embed-image", src: embed.image.url, alt: embed.title || "image" }));
  if (embed.footer?.text || embed.timestamp) {
    const parts = [embed.footer?.text, embed.timestamp ? messageTime(embed.timestamp) : null].filter(Boolean);
    box.append(el("div", { class: "embed-footer" },
      embed.footer?.icon_url ? el("img", { src: embed.footer.icon_url, alt: "" }) : null,
      el("span", {}, parts.join(" • "))));
  }
  return box;
}

function humanSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function renderAttachment(attachment) {
  if ((attachment.content_type || "").startsWith("image/")) {
    return el("a", { class: "attachment-image", href: attachment.url, target: "_blank" },
      el("img", { src: attachment.url, alt: attachment.description || attachment.filename, loading: "lazy" }));
  }
  return el("div", { class: "attachment-file" },
    icon("file", "file-icon"),
    el("div", {},
      el("a", { href: attachment.url, download: attachment.filename }, attachment.filename),
      el("div", { class: "file-size" }, humanSize(attachment.size || 0))));
}

// -- components ----------------------------------------------------------------------------
const BUTTON_CLASSES = { 1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link", 6: "premium" };

export function renderButton(button, actions) {
  const style = BUTTON_CLASSES[button.style] || "secondary";
  const label = [emoji(button.emoji), button.label ? el("span", {}, button.label) : null];
  if (button.style === 5) {
    const href = safeUrl(button.url || "");
    return el("a", { class: `button ${style}${button.disabled ? " disabled" : ""}`, href: button.disabled ? null : href,
      target: "_blank", rel: "noreferrer noopener", "aria-disabled": button.disabled ? "true" : null }, ...label,
      el("span", { class: "external", "aria-hidden": "true" }, "↗"));
  }
  return el("button", {
    class: `button ${style}`, type: "button", disabled: !!button.disabled,
    dataset: { customId: button.custom_id || "" },
    onclick: (event) => actions.click(button, event.currentTarget),
  }, ...label);
}

export function selectOptions(select, state) {
  switch (select.type) {
    case 3: return select.options || [];
    case 5: return state.members.map((m) => ({ label: m.user.global_name || m.user.username, value: m.user.id, description: `@${m.user.username}` }));
    case 6: return state.roles.filter((r) => r.id !== state.guild.id).map((r) => ({ label: `@${r.name}`, value: r.id }));
    case 7: return [
      ...state.members.map((m) => ({ label: m.user.global_name || m.user.username, value: m.user.id })),
      ...state.roles.filter((r) => r.id !== state.guild.id).map((r) => ({ label: `@${r.name}`, value: r.id })),
    ];
    case 8: return state.channels.filter((c) => !select.channel_types?.length || select.channel_types.includes(c.type))
      .map((c) => ({ label: `#${c.name}`, value: c.id }));
    default: return [];
  }
}

// A select menu like Discord's: a single choice sends at once; several send when it closes.
export function renderSelect(select, state, actions) {
  const options = selectOptions(select, state);
  const min = select.min_values ?? 1;
  const max = select.max_values ?? 1;
  const defaults = select.type === 3
    ? options.filter((o) => o.default).map((o) => o.value)
    : (select.default_values || []).map((d) => d.id);
  const chosen = new Set(defaults);
  const root = el("div", { class: `select${select.disabled ? " disabled" : ""}`, dataset: { customId: select.custom_id } });
  const triggerText = el("span", { class: "select-text" });
  const trigger = el("button", { class: "select-trigger", type: "button", disabled: !!select.disabled,
    "aria-haspopup": "listbox" }, triggerText, el("span", { class: "chevron", "aria-hidden": "true" }, "▾"));
  const menu = el("div", { class: "select-menu", role: "listbox", hidden: true, "aria-multiselectable": max > 1 ? "true" : null });
  const paint = () => {
    const labels = options.filter((o) => chosen.has(o.value)).map((o) => o.label);
    triggerText.textContent = labels.length ? labels.join(", ") : (select.placeholder || "Make a selection");
    triggerText.classList.toggle("placeholder", !labels.length);
    for (const row of menu.children) row.classList.toggle("chosen", chosen.has(row.dataset.value));
  };
  let before = [...chosen].join("\u0001");
  const close = (send) => {
    if (menu.hidden) return;
    menu.hidden = true;
    root.classList.remove("open");
    document.removeEventListener("mousedown", outside, true);
    const now = [...chosen].join("\u0001");
    if (send && now !== before && chosen.size >= min && chosen.size <= max) {
      before = now;
      actions.select(select, [...chosen], root);
    }
  };
  const outside = (event) => { if (!root.contains(event.target)) close(true); };
  for (const option of options) {
    menu.append(el("div", {
      class: "select-option", role: "option", dataset: { value: option.value }, tabindex: "-1",
      onclick: () => {
        if (max === 1) {
          chosen.clear();
          chosen.add(option.value);
          paint();
          close(true);
          return;
        }
        if (chosen.has(option.value)) chosen.delete(option.value);
        else if (chosen.size < max) chosen.add(option.value);
        paint();
      },
    }, emoji(option.emoji), el("div", { class: "option-text" }, el("div", {}, option.label),
      option.description ? el("div", { class: "option-description" }, option.description) : null),
    el("span", { class: "check", "aria-hidden": "true" }, "✓")));
  }
  trigger.addEventListener("click", () => {
    if (!menu.hidden) { close(true); return; }
    menu.hidden = false;
    root.classList.add("open");
    document.addEventListener("mousedown", outside, true);
  });
  root.append(trigger, menu);
  paint();
  return root;
}

export function renderComponents(components, state, actions, ctx) {
  const out = [];
  for (const comp of components || []) out.push(renderComponent(comp, state, actions, ctx));
  return out;
}

function renderComponent(comp, state, actions, ctx) {
  switch (comp.type) {
    case 1: return el("div", { class: "action-row" }, ...(comp.components || []).map((c) => renderComponent(c, state, actions, ctx)));
    case 2: return renderButton(comp, actions);
    case 3: case 5: case 6: case 7: case 8: return renderSelect(comp, state, actions);
    case 9: return el("div", { class: "section" },
      el("div", { class: "section-text" }, ...(comp.components || []).map((c) => renderComponent(c, state, actions, ctx))),
      comp.accessory ? renderComponent(comp.accessory, state, actions, ctx) : null);
    case 10: return el("div", { class: "text-display", html: markdown(comp.content, ctx) });
    case 11: return el("img", { class: "thumbnail", src: comp.media?.url, alt: comp.description || "" });
    case 12: return el("div", { class: "gallery" }, ...(comp.items || []).map((item) =>
      el("img", { src: item.media?.url, alt: item.description || "", loading: "lazy" })));
    case 13: return el("div", { class: "attachment-file" }, icon("file", "file-icon"), comp.file?.url?.split("/").pop() || "file");
    case 14: return el("div", { class: `separator${comp.divider === false ? "" : " divider"}${comp.spacing === 2 ? " large" : ""}` });
    case 17: return el("div", { class: "container", style: comp.accent_color != null ? `border-left-color:${colorOf(comp.accent_color)}` : null },
      ...(comp.components || []).map((c) => renderComponent(c, state, actions, ctx)));
    default: return el("div", { class: "unsupported" }, `(component type ${comp.type})`);
  }
}
