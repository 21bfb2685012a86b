// WeChat share card: ask the server to sign this page's address (/api/v1/wechat/jssdk-config), hand the
// signature to the JS-SDK, and give WeChat the card's title, summary, link and picture from the page's
// own OpenGraph tags. The page is loaded with this script only inside WeChat; anything that fails here
// only means WeChat's default card.
(function () {
  "use strict";
  if (typeof window.wx === "undefined" || !window.fetch) { return; }
  function meta(name) {
    var node = document.querySelector('meta[property="' + name + '"]');
    return node ? node.getAttribute("content") : "";
  }
  var page = location.href.split("#")[0];
  fetch("/api/v1/wechat/jssdk-config?url=" + encodeURIComponent(page), { credentials: "omit" })
    .then(function (answer) { return answer.ok ? answer.json() : null; })
    .then(function (config) {
      if (!config) { return; }
      var card = { title: meta("og:title"), desc: meta("og:description"), link: meta("og:url") || page,
                   imgUrl: meta("og:image") };
      window.wx.config({ debug: false, appId: config.appId, timestamp: config.timestamp, nonceStr: config.nonceStr,
                         signature: config.signature,
                         jsApiList: ["updateAppMessageShareData", "updateTimelineShareData"] });
      window.wx.ready(function () {
        window.wx.updateAppMessageShareData(card);
        window.wx.updateTimelineShareData({ title: card.title, link: card.link, imgUrl: card.imgUrl });
      });
    })
    .catch(function () { /* no share card: WeChat shows its default */ });
})();
