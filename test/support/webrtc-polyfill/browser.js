// In a browser the built-in WebRTC classes are used, as webrtc-polyfill does.
export const { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate, RTCDataChannel } = globalThis;
export default globalThis;
