// i18n.js — English and Simplified Chinese. The language is the browser's (zh* → Chinese,
// anything else → English) until the person chooses with the switch; the choice is kept.
// Static text in the pages carries both, as <span class="en"> and <span class="zh">; the
// stylesheet shows one (html[data-lang]). Script text asks L(english, chinese).

const KEY = 'hearingd.lang';
let lang = localStorage.getItem(KEY) || ((navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en');

export function L(en, zh) {
  return lang === 'zh' ? zh : en;
}

function apply() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.documentElement.dataset.lang = lang;
  const b = document.getElementById('lang');
  if (b) {
    b.textContent = lang === 'zh' ? 'English' : '中文';
    b.setAttribute('aria-label', lang === 'zh' ? 'Switch to English' : '切换到中文');
    b.lang = lang === 'zh' ? 'en' : 'zh-CN';
  }
}

// The switch: `onChange` re-renders what the script wrote.
export function initLanguage(onChange) {
  apply();
  const b = document.getElementById('lang');
  if (b) {
    b.addEventListener('click', () => {
      lang = lang === 'zh' ? 'en' : 'zh';
      localStorage.setItem(KEY, lang);
      apply();
      if (onChange) onChange();
    });
  }
}
