// A photo over 5 MB is refused by the server; say so before the upload starts (phones' networks are slow).
document.addEventListener("change", function (event) {
  var input = event.target;
  if (!input || input.type !== "file" || !input.files || !input.files[0]) return;
  var limit = Number(input.getAttribute("data-max-bytes") || 0);
  if (limit && input.files[0].size > limit) {
    window.alert("照片太大了（超过 " + Math.round(limit / 1048576) + " MB），请换一张或压缩后再传。");
    input.value = "";
  }
});
