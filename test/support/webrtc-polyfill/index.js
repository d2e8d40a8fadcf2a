// The names webrtc-polyfill exports, from @roamhq/wrtc (see package.json for why).
import wrtc from '@roamhq/wrtc';

export const { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate, RTCDataChannel } = wrtc;
export default wrtc;
