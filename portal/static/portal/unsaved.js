// Forms marked data-unsaved-warn: leaving the page (link, reload, closing the tab) with
// changes not saved asks first. Submitting the form itself does not.
(function () {
  var forms = document.querySelectorAll('form[data-unsaved-warn]');
  if (!forms.length) return;
  var dirty = false;
  forms.forEach(function (form) {
    var initial = new URLSearchParams(new FormData(form)).toString();
    var check = function () { dirty = new URLSearchParams(new FormData(form)).toString() !== initial; };
    form.addEventListener('change', check);
    form.addEventListener('input', check);
    form.addEventListener('submit', function () { dirty = false; });
  });
  window.addEventListener('beforeunload', function (event) {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = '';  // the browser shows its own "Leave site? Changes you made may not be saved."
  });
})();
