//! Socket setup: the one place with platform options (and the one `unsafe`).

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;

/// A non-blocking UDP socket with SO_REUSEPORT (one per core share a port);
/// an IPv6 wildcard also accepts IPv4.
pub(crate) fn udp_socket(addr: SocketAddr) -> io::Result<Socket> {
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(false)?;
    }
    s.set_reuse_port(true)?;
    // Room for bursts while the loop is busy; the kernel caps it at rmem_max.
    let _ = s.set_recv_buffer_size(4 << 20);
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    Ok(s)
}

/// A non-blocking TCP listener.
pub(crate) fn tcp_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(false)?;
    }
    s.set_reuse_address(true)?;
    s.set_tcp_nodelay(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(1024)?;
    Ok(s.into())
}

/// Turns off UDP generic receive offload, which quinn-udp enables: it would
/// merge same-sized datagrams of one client into one buffer, and DNS gains
/// nothing from it.
#[allow(unsafe_code)]
pub(crate) fn disable_gro(socket: &impl std::os::fd::AsRawFd) {
    let off: libc::c_int = 0;
    // SAFETY: a valid fd and a pointer to a c_int of the size passed.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_UDP,
            libc::UDP_GRO,
            (&off as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// The IPv4 and IPv6 addresses of the interface `name`.
#[allow(unsafe_code)]
pub(crate) fn interface_addrs(name: &str) -> Vec<std::net::IpAddr> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we only read and
    // then free exactly once with freeifaddrs.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return out;
        }
        let mut cur = list;
        while !cur.is_null() {
            let ifa = &*cur;
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
                continue;
            }
            if std::ffi::CStr::from_ptr(ifa.ifa_name).to_str() != Ok(name) {
                continue;
            }
            match i32::from((*ifa.ifa_addr).sa_family) {
                libc::AF_INET => {
                    let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    out.push(std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)).into());
                }
                libc::AF_INET6 => {
                    let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    out.push(std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr).into());
                }
                _ => {}
            }
        }
        libc::freeifaddrs(list);
    }
    out
}

/// One reply waiting in a batch: where it goes, the address it must come
/// from (a wildcard socket answers from the address it was asked at), and
/// where its bytes sit in the batch buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outgoing {
    pub to: SocketAddr,
    pub from: Option<std::net::IpAddr>,
    pub range: (usize, usize),
}

/// Sends `batch` (bytes in `buf`) with one sendmmsg; returns how many the
/// kernel took, from the front. Error only if it took none.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub(crate) fn send_batch(
    socket: &impl std::os::fd::AsRawFd,
    v6_socket: bool,
    buf: &[u8],
    batch: &[Outgoing],
) -> io::Result<usize> {
    use std::net::IpAddr;
    const MAX: usize = 64;
    // Room for one IP_PKTINFO or IPV6_PKTINFO control message, aligned.
    const CMSG_WORDS: usize = 8;
    let n = batch.len().min(MAX);
    let mut addrs: [std::mem::MaybeUninit<socket2::SockAddr>; MAX] =
        [const { std::mem::MaybeUninit::uninit() }; MAX];
    let mut iovs: [libc::iovec; MAX] = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; MAX];
    let mut cmsgs = [[0u64; CMSG_WORDS]; MAX];
    // SAFETY: mmsghdr is plain data; all-zero is a valid empty header.
    let mut hdrs: [libc::mmsghdr; MAX] = unsafe { std::mem::zeroed() };
    for (i, out) in batch[..n].iter().enumerate() {
        let to = match (v6_socket, out.to) {
            (true, SocketAddr::V4(v4)) => {
                SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
            }
            (_, to) => to,
        };
        let addr = addrs[i].write(socket2::SockAddr::from(to));
        let bytes = &buf[out.range.0..out.range.1];
        iovs[i] = libc::iovec {
            iov_base: bytes.as_ptr() as *mut libc::c_void,
            iov_len: bytes.len(),
        };
        let h = &mut hdrs[i].msg_hdr;
        h.msg_name = addr.as_ptr() as *mut libc::c_void;
        h.msg_namelen = addr.len();
        h.msg_iov = &mut iovs[i];
        h.msg_iovlen = 1;
        if let Some(from) = out.from {
            let space = std::mem::size_of_val(&cmsgs[i]);
            h.msg_control = cmsgs[i].as_mut_ptr().cast();
            h.msg_controllen = space;
            // SAFETY: msg_control points at `space` aligned bytes we own, enough
            // for one pktinfo message (checked by CMSG_SPACE below).
            unsafe {
                let c = libc::CMSG_FIRSTHDR(h);
                match (v6_socket, from) {
                    (false, IpAddr::V4(ip)) => {
                        let info = libc::in_pktinfo {
                            ipi_ifindex: 0,
                            ipi_spec_dst: libc::in_addr {
                                s_addr: u32::from_ne_bytes(ip.octets()),
                            },
                            ipi_addr: libc::in_addr { s_addr: 0 },
                        };
                        let size = std::mem::size_of_val(&info) as u32;
                        debug_assert!(libc::CMSG_SPACE(size) as usize <= space);
                        (*c).cmsg_level = libc::IPPROTO_IP;
                        (*c).cmsg_type = libc::IP_PKTINFO;
                        (*c).cmsg_len = libc::CMSG_LEN(size) as _;
                        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast(), info);
                        h.msg_controllen = libc::CMSG_SPACE(size) as _;
                    }
                    (true, ip) => {
                        let v6 = match ip {
                            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                            IpAddr::V6(v6) => v6,
                        };
                        let info = libc::in6_pktinfo {
                            ipi6_addr: libc::in6_addr {
                                s6_addr: v6.octets(),
                            },
                            ipi6_ifindex: 0,
                        };
                        let size = std::mem::size_of_val(&info) as u32;
                        debug_assert!(libc::CMSG_SPACE(size) as usize <= space);
                        (*c).cmsg_level = libc::IPPROTO_IPV6;
                        (*c).cmsg_type = libc::IPV6_PKTINFO;
                        (*c).cmsg_len = libc::CMSG_LEN(size) as _;
                        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast(), info);
                        h.msg_controllen = libc::CMSG_SPACE(size) as _;
                    }
                    // An IPv6 source on an IPv4 socket cannot be: send without one.
                    (false, IpAddr::V6(_)) => {
                        h.msg_control = std::ptr::null_mut();
                        h.msg_controllen = 0;
                    }
                }
            }
        }
    }
    // SAFETY: `hdrs[..n]` point at addresses, iovecs and control buffers that
    // live until the call returns.
    let sent = unsafe {
        libc::sendmmsg(
            socket.as_raw_fd(),
            hdrs.as_mut_ptr(),
            n as libc::c_uint,
            libc::MSG_DONTWAIT,
        )
    };
    for a in &mut addrs[..n] {
        // SAFETY: the first `n` were written above.
        unsafe { a.assume_init_drop() };
    }
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

/// Without sendmmsg nothing is batched: the caller sends one by one.
#[cfg(not(target_os = "linux"))]
pub(crate) fn send_batch(
    _socket: &impl std::os::fd::AsRawFd,
    _v6_socket: bool,
    _buf: &[u8],
    _batch: &[Outgoing],
) -> io::Result<usize> {
    Ok(0)
}
