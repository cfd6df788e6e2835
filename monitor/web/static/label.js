/* One key per answer, as `stance label` asks in the terminal.
 *
 * The questions are the form's fieldsets, in the terminal's order; each radio or checkbox carries its
 * key (data-key), rendered from monitor/labeling/loop.py, so both ask with the same keys. The current
 * question is highlighted; its key checks the answer and moves on. Off-topic posts skip the questions
 * marked relevant-only. s skips, u undoes the last label, q quits; the last answer submits the form,
 * which the server stores with monitor.labeling.save_label. Without this script the form still works.
 */
(function () {
  "use strict";

  var form = document.getElementById("label-form");
  var undo = document.getElementById("undo");
  if (!form) {
    if (undo) {
      document.addEventListener("keydown", function (event) {
        if (event.key === "u" && !event.ctrlKey && !event.metaKey && !event.altKey) undo.click();
      });
    }
    return;
  }
  var questions = Array.prototype.slice.call(form.querySelectorAll("fieldset.question"));
  var current = 0;

  function value(name) {
    var checked = form.querySelector("input[name='" + name + "']:checked");
    return checked ? checked.value : null;
  }

  function applies(fieldset) {
    return fieldset.dataset.relevantOnly !== "yes" || value("relevant") !== "no";
  }

  function show() {
    questions.forEach(function (fieldset, i) {
      var active = i === current;
      fieldset.classList.toggle("current", active);
      fieldset.classList.toggle("skipped", !applies(fieldset));
      if (active) fieldset.setAttribute("aria-current", "step");
      else fieldset.removeAttribute("aria-current");
    });
  }

  function advance() {
    current += 1;
    while (current < questions.length && !applies(questions[current])) current += 1;
    if (current >= questions.length) {
      // Off-topic posts answer no further questions; clear any leftovers so the stored label is clean.
      if (value("relevant") === "no") {
        questions.forEach(function (fieldset) {
          if (!applies(fieldset)) {
            Array.prototype.forEach.call(fieldset.querySelectorAll("input"), function (input) { input.checked = false; });
          }
        });
      }
      form.submit();
      return;
    }
    show();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.tagName === "INPUT" && target.type === "text" || target.tagName === "TEXTAREA")) return;
    var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    var fieldset = questions[current];
    if (!fieldset) return;
    var multiple = fieldset.dataset.multiple === "yes";
    var input = fieldset.querySelector("input[data-key='" + key + "']");
    if (input) {
      event.preventDefault();
      if (multiple) {
        input.checked = !input.checked;
      } else {
        input.checked = true;
        advance();
      }
      return;
    }
    if (key === "Enter" && multiple) {
      event.preventDefault();
      advance();
      return;
    }
    if (key === "s") { event.preventDefault(); document.getElementById("skip").click(); }
    else if (key === "u") { event.preventDefault(); undo.click(); }
    else if (key === "q") { event.preventDefault(); document.getElementById("quit").click(); }
  });

  questions.forEach(function (fieldset, i) {
    fieldset.addEventListener("click", function () {
      if (i !== current) { current = i; show(); }
    });
  });
  show();
})();
